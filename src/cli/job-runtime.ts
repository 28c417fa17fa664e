// The seam between `patchwork gateway` and the job side: a running job runtime hosts job actors
// in this process, dispatches their kernel work to kernel nodes, and serves the JobService.
// The jobs branch provides the factory; this file adapts it to what the gateway needs.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { JobService, JobStatus } from '../actors/jobs/types.ts';
import { CodedError } from '../common/errors.ts';
import type { KernelNodeInfo } from '../gateway/index.ts';

export interface JobRuntimeOptions {
  connection: NatsConnection;
  namespace: string;
  /** Replicas of the stream and buckets the runtime creates (ActorHost `replicas`, KernelCluster `replicas`). */
  replicas: number;
  maxRunningJobsPerTenant: number;
  drainMs: number;
  logger: Logger;
}

export interface JobRuntime {
  jobs: JobService;
  kernelNodes(): Promise<KernelNodeInfo[]>;
  jobStatusCounts?(): Promise<Partial<Record<JobStatus, number>>>;
  metricsRegistries: Registry[];
  /** Graceful: activities in flight finish (up to drainMs), leases are released for other hosts. */
  stop(): Promise<void>;
}

export async function startJobRuntime(_opts: JobRuntimeOptions): Promise<JobRuntime> {
  throw new CodedError('NOT_AVAILABLE', 'the job runtime (branch jobs) is not merged into this build yet: `patchwork gateway` cannot host jobs.');
}
