// A kernel node: the gRPC KernelService plus the standard health service, a worker pool, the
// blob and job caches, result hints, a heartbeat in the node bucket and the metrics server.
// `drain()` is the SIGTERM path: leave the node bucket, refuse new calls, finish the calls in
// flight, then close everything.
import { hostname } from 'node:os';
import { Server } from '@grpc/grpc-js';
import { setSha256Backend } from '@nats-io/obj';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { BlobStore } from '../../common/blob-store.ts';
import { patchworkNames } from '../../common/names.ts';
import { connectNats, type NatsConnection } from '../../common/nats.ts';
import type { NodeConfig } from '../cluster/config.ts';
import { NODE_VERSION, openNodeBucket, type NodeRecord } from '../cluster/registry.ts';
import { serverCredentials, serverOptions } from '../cluster/transport.ts';
import { KernelServiceService } from '../generated/patchwork/kernel/v1/kernel.ts';
import { Admission } from './admission.ts';
import { BlobCache } from './blob-cache.ts';
import { kernelServiceImpl } from './grpc-server.ts';
import { JobCache } from './job-cache.ts';
import { NodeMetrics, startMetricsServer, type MetricsServer } from './metrics.ts';
import { Registration } from './registration.ts';
import { ResultHints } from './result-hints.ts';
import { StateCache } from './state-cache.ts';
import { warmUp } from './warm-up.ts';
import { TeamExchange } from './team-exchange.ts';
import { WorkerPool } from './worker-pool.ts';

/** Service names the health service reports: '' (the server) and the kernel service. */
export const HEALTH_SERVICES = ['', 'patchwork.kernel.v1.KernelService'] as const;

const MiB = 1024 * 1024;

export interface KernelNode {
  readonly id: string;
  /** The bound gRPC port. */
  readonly port: number;
  readonly metricsPort: number;
  readonly address: string;
  /** Stops taking work, finishes calls in flight (up to the timeout), deregisters, closes. */
  drain(timeoutMs: number): Promise<{ finished: boolean }>;
}

function bind(server: Server, address: string, creds: ReturnType<typeof serverCredentials>): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))));
}

export async function startKernelNode(config: NodeConfig, log: Logger): Promise<KernelNode> {
  // The Object Store's own digest: Node's native SHA-256, not the pure-JS default (~3x faster).
  setSha256Backend('native');
  const names = patchworkNames(config.namespace, config.blobBucket ? { blobBucket: config.blobBucket } : {});
  // noEcho: the node never receives its own result pushes back. noAsyncTraces: every stored
  // result batch is a JetStream publish, a request for which the client would otherwise build an
  // Error (a stack capture) up front just in case it times out; our errors carry codes and context.
  const nc: NatsConnection = await connectNats({ servers: config.natsUrl.split(','), name: `patchwork-kernel ${config.nodeId}`, extra: { noEcho: true, noAsyncTraces: true } });
  const cleanups: (() => Promise<void> | void)[] = [() => nc.close()];
  try {
    const store = await BlobStore.open(nc, { bucket: names.blobBucket, replicas: config.jetstreamReplicas });
    const pool = new WorkerPool(config.workers);
    cleanups.unshift(() => pool.close());
    // Before the node registers: its first job should not pay for compiling the kernel.
    if (config.warmUp) log.info({ ms: Math.round(await warmUp(pool)) }, 'kernel warmed up');
    const cache = new BlobCache(store, config.blobCacheMb * MiB);
    const hints = new ResultHints(nc, names, config.nodeId, cache, config.hints, log);
    cleanups.unshift(() => hints.close());
    const team = new TeamExchange(nc, names, config.nodeId, cache, hints, log);
    cleanups.unshift(() => team.close());
    const jobs = new JobCache(config.jobCacheMb * MiB, (job) => {
      pool.forgetJob(job.key);
      hints.unfollow(job.key);
      team.unfollow(job.key);
    });
    const admission = new Admission(config.maxCalls);
    const metrics = new NodeMetrics(
      {
        cache,
        inFlight: () => admission.inFlight,
        capacity: admission.capacity,
        queuedTasks: () => pool.queued,
        runningTasks: () => pool.running,
        jobs: () => ({ count: jobs.count, bytes: jobs.bytes }),
      },
      { node: config.nodeId },
    );

    const server = new Server(serverOptions);
    const deps = { nodeId: config.nodeId, pool, cache, jobs, states: new StateCache(64 * MiB), hints, log, batchBytes: 256 * 1024, pushWaitMs: 20, team, teamWaitMs: config.teamWaitMs, nc };
    server.addService(KernelServiceService, kernelServiceImpl(deps, admission, metrics, log));
    const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING' as const])));
    health.addToServer(server);
    const tls = !!config.tlsCert;
    const port = await bind(server, `${config.host}:${config.port}`, serverCredentials({ cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa }));
    cleanups.unshift(() => new Promise<void>((r) => server.tryShutdown(() => r())));
    // Clients dial the advertised address: given, or the bound host when it is a specific one, else the host name.
    const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '[::]';
    const advertised = config.advertise ?? (wildcard ? hostname() : config.host);
    const address = /:\d+$/.test(advertised) ? advertised : `${advertised}:${port}`;

    let ready = false;
    const http: MetricsServer = await startMetricsServer(metrics, config.host, config.metricsPort, () => ready && !admission.draining);
    cleanups.unshift(() => http.close());

    const startedAt = new Date().toISOString();
    const record = (): NodeRecord => ({
      id: config.nodeId,
      address,
      capacity: admission.capacity,
      workers: config.workers,
      inFlight: admission.inFlight,
      version: NODE_VERSION,
      tls,
      heartbeatMs: config.heartbeatMs,
      startedAt,
    });
    const registration = new Registration(await openNodeBucket(nc, names, config.jetstreamReplicas), record, config.heartbeatMs, log);
    await registration.start();
    for (const s of HEALTH_SERVICES) health.setStatus(s, 'SERVING');
    ready = true;
    log.info({ nodeId: config.nodeId, port, address, metricsPort: http.port, workers: config.workers, capacity: admission.capacity, tls, mtls: !!config.tlsClientCa, namespace: names.namespace }, 'kernel node ready');

    let draining: Promise<{ finished: boolean }> | null = null;
    return {
      id: config.nodeId,
      port,
      metricsPort: http.port,
      address,
      drain(timeoutMs: number) {
        draining ??= (async () => {
          ready = false;
          for (const s of HEALTH_SERVICES) health.setStatus(s, 'NOT_SERVING');
          await registration.stop().catch((err: unknown) => log.warn({ err }, 'could not delete the node record; it expires by itself'));
          admission.drain();
          log.info({ inFlight: admission.inFlight }, 'draining: refusing new calls, finishing calls in flight');
          let timer: NodeJS.Timeout | undefined;
          const finished = await Promise.race([admission.idle().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
          clearTimeout(timer);
          if (!finished) {
            log.warn({ inFlight: admission.inFlight }, 'drain timeout: closing with calls in flight');
            server.forceShutdown();
          }
          for (const c of cleanups) await c();
          return { finished };
        })();
        return draining;
      },
    };
  } catch (e) {
    for (const c of cleanups) await Promise.resolve(c()).catch(() => undefined);
    throw e;
  }
}
