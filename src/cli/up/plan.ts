// What `patchwork up` will start, decided from its flags and the machine before anything runs:
// pure, so the arithmetic (ports, worker split) has unit tests of its own.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { CodedError } from '../../common/errors.ts';

export interface UpFlags {
  data?: string;
  port?: number;
  host?: string;
  gateways?: number;
  kernels?: number;
  workers?: number;
  natsPort?: number;
  natsServer?: string;
  verbose?: boolean;
}

export interface UpPlan {
  /** Absolute data folder: JetStream store, logs, the lock file. */
  dataDir: string;
  /** Address gateways listen on. Kernel nodes and NATS always listen on 127.0.0.1. */
  host: string;
  /** One per gateway; 0 means "a free port". */
  gatewayPorts: number[];
  kernels: number;
  /** Worker threads per kernel node. */
  workersPerKernel: number;
  /** -1: let nats-server pick a free port (then kept across restarts). */
  natsPort: number;
  /** Path or name of the nats-server binary (PATH lookup when a bare name). */
  natsServer: string;
  /** Stream children's logs to the terminal as well as to their log files. */
  verbose: boolean;
}

export const DEFAULT_GATEWAY_PORT = 4000;

function positive(value: number | undefined, flag: string, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new CodedError('BAD_OPTION', `${flag} must be an integer from 1 to ${max}, got ${value}.`);
}

/**
 * Kernel nodes share the machine's cores fairly: N nodes on C cores get floor(C / N) workers each
 * (at least one), so the default (one node per core) runs one worker per node and never
 * oversubscribes; fewer nodes get more workers each.
 */
export function fairWorkers(cores: number, kernels: number): number {
  return Math.max(1, Math.floor(cores / kernels));
}

export function makePlan(flags: UpFlags, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism(), cwd = process.cwd()): UpPlan {
  positive(flags.gateways, '--gateways', 64);
  positive(flags.kernels, '--kernels', 256);
  positive(flags.workers, '--workers', 256);
  const gateways = flags.gateways ?? 1;
  const kernels = flags.kernels ?? cores;
  const port = flags.port ?? DEFAULT_GATEWAY_PORT;
  if (!Number.isInteger(port) || port < 0 || port + gateways - 1 > 65535) throw new CodedError('BAD_OPTION', `--port must leave room for ${gateways} consecutive port(s) below 65536 (0 picks free ports), got ${port}.`);
  const natsPort = flags.natsPort ?? -1;
  if (!Number.isInteger(natsPort) || natsPort < -1 || natsPort > 65535 || natsPort === 0) throw new CodedError('BAD_OPTION', `--nats-port must be a port from 1 to 65535, got ${natsPort}.`);
  return {
    dataDir: resolve(cwd, flags.data ?? '.patchwork'),
    host: flags.host ?? '127.0.0.1',
    gatewayPorts: Array.from({ length: gateways }, (_, i) => (port === 0 ? 0 : port + i)),
    kernels,
    workersPerKernel: flags.workers ?? fairWorkers(cores, kernels),
    natsPort,
    natsServer: flags.natsServer ?? env.NATS_SERVER_BIN ?? 'nats-server',
    verbose: flags.verbose ?? false,
  };
}
