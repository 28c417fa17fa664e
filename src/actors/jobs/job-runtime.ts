// The wiring of the job side of a process (`patchwork gateway`, `patchwork up`, tests, the
// benchmark): an ActorHost that hosts inpaint jobs with the kernel dispatcher, the kernel
// cluster client, the job service over them, and a graceful close. One call, one object.
import { Kvm } from '@nats-io/kv';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { consistentBucketOptions } from '../../common/kv.ts';
import { connectNats, type NatsConnection } from '../../common/nats.ts';
import { patchworkNames } from '../../common/names.ts';
import { KernelCluster, type KernelClusterOptions, type LiveNode } from '../../kernel/client/index.ts';
import type { Dispatcher } from '../dispatcher.ts';
import { ActorHost, type HostOptions } from '../host.ts';
import { orchestrations } from '../orchestrations/index.ts';
import { Admission } from './admission.ts';
import { TenantBlobRegistry } from './blob-registry.ts';
import { JobDispatcher } from './job-dispatcher.ts';
import { JobMetrics } from './job-metrics.ts';
import { ActorJobService } from './job-service.ts';
import { INPAINT_ORCHESTRATION, type FillSettings } from './job-state.ts';
import { jobView } from './job-view.ts';
import type { ImageRef, JobStatus } from './types.ts';

export interface JobRuntimeOptions {
  /** An open connection (kept open on close), or a URL to connect to (closed on close). */
  nc?: NatsConnection;
  natsUrl?: string;
  /** Namespace of streams and buckets (default 'job'). */
  namespace?: string;
  /** Kernel cluster client settings (TLS, deadline, attempts, backoff). */
  kernel?: Omit<KernelClusterOptions, 'nc' | 'namespace' | 'names' | 'log'>;
  /** Host settings. Durability is 'strict' unless set (see docs: "Inpaint job"). */
  host?: Omit<HostOptions, 'connection' | 'namespace' | 'names' | 'orchestrations' | 'dispatcher' | 'logger'>;
  /** Running jobs per tenant; more wait as QUEUED. Default 4. */
  tenantRunningCap?: number;
  /**
   * Activate jobs created here in this process's host at once (default true). False: they are
   * announced, and whichever host claims first runs them (an API-only process, tests).
   */
  startLocally?: boolean;
  /** How new jobs spread their work (recorded in each job). */
  fill?: Partial<FillSettings>;
  /** Stream / bucket replicas (3 in production NATS clusters). Default 1. */
  replicas?: number;
  /** How long cancel / pause / resume / accept wait for the job to show the change. */
  controlWaitMs?: number;
  /** Wraps the job dispatcher (instrumentation: tracing, the fault tests' call counter). */
  wrapDispatcher?: (dispatcher: Dispatcher) => Dispatcher;
  logger?: Logger;
}

/** A live kernel node as the gateway's `kernelNodes` query shows it. */
export interface KernelNodeView {
  id: string;
  address: string;
  capacity: number;
  workers: number;
  inFlight: number;
  version: string;
  startedAt: string;
}

export interface JobRuntime {
  jobs: ActorJobService;
  host: ActorHost;
  cluster: KernelCluster;
  nc: NatsConnection;
  metrics: JobMetrics;
  /** Resolves once at least one kernel node is live (or rejects after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  kernelNodes(): KernelNodeView[];
  /** Root jobs by status, across tenants (for a gauge). */
  jobStatusCounts(): Promise<Partial<Record<JobStatus, number>>>;
  /** Graceful: activities in flight finish (up to drainMs), leases are released for other hosts. */
  close(opts?: { drainMs?: number }): Promise<void>;
}

export async function createJobRuntime(opts: JobRuntimeOptions): Promise<JobRuntime> {
  const log = opts.logger ?? pino({ name: 'jobs', level: process.env.PATCHWORK_LOG_LEVEL ?? 'warn' });
  const ownConnection = !opts.nc;
  const nc = opts.nc ?? (await connectNats({ servers: (opts.natsUrl ?? process.env.PATCHWORK_NATS_URL ?? 'nats://127.0.0.1:4222').split(',').map((s) => s.trim()), name: 'patchwork-jobs' }));
  let cluster: KernelCluster | undefined;
  let host: ActorHost | undefined;
  try {
    const names = patchworkNames(opts.namespace ?? 'job');
    const replicas = opts.replicas ?? 1;
    const kvm = new Kvm(nc);
    const bucket = (name: string) => kvm.create(name, consistentBucketOptions(replicas));
    const [uploadKv, outputKv, admissionKv] = await Promise.all([bucket(names.uploadBucket), bucket(names.outputBucket), bucket(names.admissionBucket)]);
    cluster = await KernelCluster.connect({ ...(opts.kernel ?? {}), nc, names, log: log.child({ part: 'kernel-client' }) });
    const metrics = new JobMetrics();
    const outputs = new TenantBlobRegistry<{ jobId: string }>(outputKv);
    const uploads = new TenantBlobRegistry<ImageRef>(uploadKv);
    // The dispatcher needs the host's client (admission wakes queued jobs); the host needs the
    // dispatcher: the admission is bound once the host exists.
    const late: { admission?: Admission } = {};
    const dispatcher = new JobDispatcher({
      cluster,
      outputs,
      get admission(): Admission {
        return late.admission!;
      },
      metrics,
      liveSubject: names.liveSubject,
    });
    host = await ActorHost.create({
      durability: 'strict',
      ...(opts.host ?? {}),
      connection: nc,
      names,
      replicas,
      orchestrations,
      dispatcher: opts.wrapDispatcher ? opts.wrapDispatcher(dispatcher) : dispatcher,
      logger: log.child({ part: 'host' }),
    });
    late.admission = new Admission(admissionKv, host.client, log.child({ part: 'admission' }));
    const jobs = new ActorJobService({
      client: host.client,
      ...(opts.startLocally === false ? {} : { host }),
      uploads,
      outputs,
      tenantRunningCap: opts.tenantRunningCap,
      settings: opts.fill,
      controlWaitMs: opts.controlWaitMs,
    });
    await host.start();
    const c = cluster;
    const h = host;
    let closed = false;
    return {
      jobs,
      host: h,
      cluster: c,
      nc,
      metrics,
      async ready(timeoutMs = 10_000) {
        await c.nodes.waitFor((ns) => ns.length > 0, timeoutMs);
      },
      kernelNodes: () =>
        c.nodes.list().map((n: LiveNode) => ({ id: n.id, address: n.address, capacity: n.capacity, workers: n.workers, inFlight: n.inFlight, version: n.version, startedAt: n.startedAt })),
      async jobStatusCounts() {
        const counts: Partial<Record<JobStatus, number>> = {};
        for (const e of await h.storage.index.listAll()) {
          if (e.orchestration !== INPAINT_ORCHESTRATION || e.parentId !== undefined) continue;
          const s = jobView({ id: e.id, tenant: e.tenant ?? '', status: e.status, createdAt: e.createdAt, updatedAt: e.updatedAt, summary: e.summary, events: 0 }).status;
          counts[s] = (counts[s] ?? 0) + 1;
        }
        return counts;
      },
      async close(o = {}) {
        if (closed) return;
        closed = true;
        await h.stop({ drainMs: o.drainMs ?? 2_000 });
        await c.close().catch(() => undefined);
        if (ownConnection) await nc.close().catch(() => undefined);
      },
    };
  } catch (err) {
    host?.halt();
    await cluster?.close().catch(() => undefined);
    if (ownConnection) await nc.close().catch(() => undefined);
    throw err;
  }
}
