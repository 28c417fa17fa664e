// What every kernel call needs on the node, and the plain errors calls raise.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { CodedError } from '../../common/errors.ts';
import { NodeErrorCode } from '../cluster/status.ts';
import type { BlobCache } from './blob-cache.ts';
import type { JobCache } from './job-cache.ts';
import type { ResultHints } from './result-hints.ts';
import type { StateCache } from './state-cache.ts';
import type { TeamExchange } from './team-exchange.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface ServiceDeps {
  nodeId: string;
  pool: WorkerPool;
  cache: BlobCache;
  jobs: JobCache;
  states: StateCache;
  hints: ResultHints;
  log: Logger;
  /** Target size of a result batch blob: a batch is stored as soon as it reaches it. */
  batchBytes: number;
  /** How long a read waits for a peer's push before going to the Object Store. */
  pushWaitMs: number;
  /** Team runs: announcements between members. */
  team: TeamExchange;
  /** Team runs: longest wait for a peer's step (at least 10x the step's own time). */
  teamWaitMs: number;
  /** Team runs: where live progress goes (TeamSpec.live). */
  nc: NatsConnection;
}

/** Aborted when the caller gives up (cancels, or its deadline passes): queued work is dropped. */
export interface CallControl {
  signal: AbortSignal;
}

export const badRequest = (message: string): CodedError => new CodedError(NodeErrorCode.badRequest, message);
export const badStep = (message: string): CodedError => new CodedError(NodeErrorCode.badStep, message);
