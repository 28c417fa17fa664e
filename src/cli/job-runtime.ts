// The seam between `patchwork gateway` and the job side: the job runtime (src/actors, see
// createJobRuntime) hosts job actors in this process, dispatches their kernel work to kernel
// nodes and serves the JobService. This file adapts it to what the gateway command needs.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createJobRuntime, type KernelNodeView } from '../actors/index.ts';
import type { JobService, JobStatus } from '../actors/jobs/types.ts';
import type { ClientConfig } from '../kernel/cluster/config.ts';

export interface JobRuntimeOptions {
  connection: NatsConnection;
  namespace: string;
  /** Replicas of the stream and buckets the runtime creates (ActorHost `replicas`, KernelCluster `replicas`). */
  replicas: number;
  /** The kernel client's settings (PATCHWORK_KERNEL_CLIENT_*: TLS to the nodes, deadline, attempts). */
  kernelClient: ClientConfig;
  maxRunningJobsPerTenant: number;
  drainMs: number;
  logger: Logger;
}

export interface GatewayJobRuntime {
  jobs: JobService;
  /** Live kernel nodes (from their heartbeats). */
  kernelNodes(): KernelNodeView[];
  jobStatusCounts(): Promise<Partial<Record<JobStatus, number>>>;
  metricsRegistries: Registry[];
  /** Graceful: activities in flight finish (up to drainMs), leases are released for other hosts. */
  stop(): Promise<void>;
}

export async function startJobRuntime(opts: JobRuntimeOptions): Promise<GatewayJobRuntime> {
  const runtime = await createJobRuntime({
    nc: opts.connection,
    namespace: opts.namespace,
    replicas: opts.replicas,
    kernel: {
      tls: { ca: opts.kernelClient.tlsCa, cert: opts.kernelClient.tlsCert, key: opts.kernelClient.tlsKey, serverName: opts.kernelClient.tlsServerName },
      deadlineMs: opts.kernelClient.deadlineMs,
      attempts: opts.kernelClient.attempts,
      replicas: opts.replicas,
    },
    tenantRunningCap: opts.maxRunningJobsPerTenant,
    logger: opts.logger.child({ part: 'jobs' }),
  });
  return {
    jobs: runtime.jobs,
    kernelNodes: () => runtime.kernelNodes(),
    jobStatusCounts: () => runtime.jobStatusCounts(),
    metricsRegistries: [runtime.metrics.registry],
    stop: () => runtime.close({ drainMs: opts.drainMs }),
  };
}
