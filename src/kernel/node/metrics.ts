// The node's Prometheus metrics and its small HTTP server: /metrics, /healthz (the process
// answers) and /readyz (serving: registered and not draining), for Kubernetes probes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BlobCache } from './blob-cache.ts';

export interface MetricSources {
  cache: BlobCache;
  inFlight: () => number;
  capacity: number;
  queuedTasks: () => number;
  runningTasks: () => number;
  jobs: () => { count: number; bytes: number };
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly calls: Counter<'method' | 'code'>;
  readonly latency: Histogram<'method'>;
  readonly kernelMs: Counter<'method'>;
  readonly rejected: Counter<'reason'>;
  readonly hintsPublished: Counter;

  constructor(src: MetricSources, labels: Record<string, string>) {
    const registers = [this.registry];
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'patchwork_kernel_process_' });
    this.calls = new Counter({ name: 'patchwork_kernel_calls_total', help: 'Kernel calls answered, by method and gRPC status', labelNames: ['method', 'code'], registers });
    this.latency = new Histogram({
      name: 'patchwork_kernel_call_duration_seconds',
      help: 'Time from admitting a call to answering it',
      labelNames: ['method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.kernelMs = new Counter({ name: 'patchwork_kernel_cpu_milliseconds_total', help: 'Thread time spent in kernel code', labelNames: ['method'], registers });
    this.rejected = new Counter({ name: 'patchwork_kernel_calls_rejected_total', help: 'Calls refused: busy (queue full) or draining', labelNames: ['reason'], registers });
    this.hintsPublished = new Counter({ name: 'patchwork_kernel_result_pushes_total', help: 'Result batches pushed to peer nodes', registers });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    const c = src.cache.stats;
    gauge('patchwork_kernel_calls_in_flight', 'Calls admitted and not yet answered', src.inFlight);
    gauge('patchwork_kernel_call_capacity', 'Calls admitted at once before RESOURCE_EXHAUSTED', () => src.capacity);
    gauge('patchwork_kernel_queue_depth', 'Kernel tasks (tiles, prepares, previews) waiting for a worker thread', src.queuedTasks);
    gauge('patchwork_kernel_tasks_running', 'Kernel tasks handed to worker threads', src.runningTasks);
    counter('patchwork_kernel_blob_cache_hits_total', 'Blob reads served from memory', () => c.hits);
    counter('patchwork_kernel_blob_cache_misses_total', 'Blob reads that went to the Object Store', () => c.misses);
    gauge('patchwork_kernel_blob_cache_hit_ratio', 'hits / (hits + misses) since start', () => (c.hits + c.misses > 0 ? c.hits / (c.hits + c.misses) : 0));
    counter('patchwork_kernel_blob_cache_pushed_total', 'Blobs received from peer nodes and kept', () => c.pushed);
    counter('patchwork_kernel_blob_cache_rejected_total', 'Pushed blobs dropped for a hash mismatch', () => c.rejected);
    counter('patchwork_kernel_blob_cache_evictions_total', 'Blobs evicted', () => c.evictions);
    gauge('patchwork_kernel_blob_cache_bytes', 'Bytes held by the blob cache', () => src.cache.bytes);
    counter('patchwork_kernel_blob_read_bytes_total', 'Bytes read from the Object Store', () => c.bytesRead);
    counter('patchwork_kernel_blob_written_bytes_total', 'Bytes written to the Object Store', () => c.bytesWritten);
    gauge('patchwork_kernel_jobs_cached', 'Prepared jobs held', () => src.jobs().count);
    gauge('patchwork_kernel_job_cache_bytes', 'Bytes held by prepared jobs', () => src.jobs().bytes);
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the registry and the probes on `port` (0: a free port). */
export function startMetricsServer(metrics: NodeMetrics, host: string, port: number, ready: () => boolean): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
        .catch((e: unknown) => res.writeHead(500).end(String(e)));
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
