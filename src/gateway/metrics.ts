// Prometheus metrics of one gateway (its own registry, so several gateways in one process — tests,
// `patchwork up` — never collide): GraphQL latency, subscriptions, WebSocket connections, uploads,
// errors by code, jobs by status (from the job service, at scrape time) and the process defaults.
// Registries of other parts (the job host's activity latency) are appended on /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobStatus } from '../actors/jobs/types.ts';

const STATUSES: JobStatus[] = ['QUEUED', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELED'];

export interface GatewayMetricsSources {
  subscriptions(): number;
  jobWatches(): number;
  webSockets(): number;
  jobStatusCounts?: () => Promise<Partial<Record<JobStatus, number>>>;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly graphqlDuration: Histogram<'operation' | 'outcome'>;
  readonly graphqlErrors: Counter<'code'>;
  readonly uploads: Counter;
  readonly uploadBytes: Counter;
  readonly subscriptionUpdates: Counter;
  readonly updateLag: Histogram;
  readonly fanOut: Histogram;
  readonly extra: Registry[];

  constructor(sources: GatewayMetricsSources, extra: Registry[] = []) {
    this.extra = extra;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.graphqlDuration = new Histogram({
      name: 'patchwork_gateway_graphql_duration_seconds',
      help: 'GraphQL operations over HTTP, from request to response',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.graphqlErrors = new Counter({ name: 'patchwork_gateway_graphql_errors_total', help: 'GraphQL errors sent, by extensions.code', labelNames: ['code'], registers });
    this.uploads = new Counter({ name: 'patchwork_gateway_uploads_total', help: 'Images accepted on POST /uploads', registers });
    this.uploadBytes = new Counter({ name: 'patchwork_gateway_upload_bytes_total', help: 'Bytes of images accepted on POST /uploads', registers });
    this.updateLag = new Histogram({
      name: 'patchwork_gateway_job_update_lag_seconds',
      help: "From a job state's event being stored (its updatedAt) to this gateway's upstream watch receiving it, before the fan-out to subscribers",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.fanOut = new Histogram({
      name: 'patchwork_gateway_subscription_fanout_seconds',
      help: "From a job state's arrival at this gateway to its hand-over to every subscriber of the job (states superseded on the way are not counted)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.subscriptionUpdates = new Counter({ name: 'patchwork_gateway_subscription_updates_total', help: 'Job states sent to subscribers', registers });
    new Gauge({
      name: 'patchwork_gateway_subscriptions',
      help: 'jobUpdates subscriptions open on this gateway',
      registers,
      collect() {
        this.set(sources.subscriptions());
      },
    });
    new Gauge({
      name: 'patchwork_gateway_job_watches',
      help: 'Upstream job watches open (one per followed job, however many subscribers)',
      registers,
      collect() {
        this.set(sources.jobWatches());
      },
    });
    new Gauge({
      name: 'patchwork_gateway_websockets',
      help: 'WebSocket connections open',
      registers,
      collect() {
        this.set(sources.webSockets());
      },
    });
    if (sources.jobStatusCounts) {
      const counts = sources.jobStatusCounts;
      new Gauge({
        name: 'patchwork_jobs',
        help: 'Jobs by status (all tenants)',
        labelNames: ['status'],
        registers,
        async collect() {
          try {
            const c = await counts();
            for (const s of STATUSES) this.set({ status: s }, c[s] ?? 0);
          } catch {
            // A scrape while NATS is away leaves the last values; /readyz reports the outage.
          }
        },
      });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    const parts = [await this.registry.metrics()];
    for (const r of this.extra) parts.push(await r.metrics());
    return parts.join('\n');
  }
}
