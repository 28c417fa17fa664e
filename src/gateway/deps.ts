// What the gateway needs from the rest of the system, injected by whoever builds it
// (`patchwork gateway`, `patchwork up`, tests). The gateway never opens NATS or starts actors
// itself: it sees jobs only through `JobService` (src/actors/jobs/types.ts).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { JobService, JobStatus } from '../actors/jobs/types.ts';

/** A kernel node as the `kernelNodes` query shows it. */
export interface KernelNodeInfo {
  id: string;
  address: string;
  capacity: number;
  workers: number;
  inFlight: number;
  version: string;
  startedAt: string;
}

/** The content-addressed blob store (src/common/blob-store.ts), as far as the gateway uses it. */
export interface GatewayBlobStore {
  put(bytes: Uint8Array): Promise<{ id: string; size: number }>;
  get(id: string): Promise<Uint8Array>;
}

export interface DependencyHealth {
  /** NATS connected (the job service and blob store can work). */
  nats: boolean;
  /** Kernel nodes with a fresh heartbeat. */
  kernelNodes: number;
}

export interface GatewayDeps {
  jobs: JobService;
  blobs: GatewayBlobStore;
  /** Live kernel nodes (for the `kernelNodes` query). */
  kernelNodes(): Promise<KernelNodeInfo[]>;
  /** For /readyz: ready when NATS is connected and at least one kernel node is live. */
  health(): Promise<DependencyHealth>;
  /** Jobs by status across tenants, for the `patchwork_jobs` gauge (optional). */
  jobStatusCounts?(): Promise<Partial<Record<JobStatus, number>>>;
  /** Registries of other parts (e.g. the job host's activity latency) served on /metrics too. */
  metricsRegistries?: Registry[];
  logger?: Logger;
}
