// Prometheus metrics of the job side of a process (the gateway serves them on /metrics beside
// its own): activity latency and outcome, kernel time and blob bytes the jobs used.
import { Counter, Histogram, Registry } from 'prom-client';
import type { CallUsage } from './activities.ts';

export class JobMetrics {
  readonly registry: Registry;
  readonly #latency: Histogram<'activity' | 'outcome'>;
  readonly #kernelMs: Counter;
  readonly #blobBytes: Counter;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.#latency = new Histogram({
      name: 'patchwork_job_activity_duration_seconds',
      help: 'Time of one attempt of a job activity (kernel call or bookkeeping), by activity and outcome (ok or the error code)',
      labelNames: ['activity', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#kernelMs = new Counter({ name: 'patchwork_job_kernel_cpu_milliseconds_total', help: 'Kernel thread time spent on jobs hosted here (from the calls\' Usage)', registers });
    this.#blobBytes = new Counter({ name: 'patchwork_job_blob_bytes_written_total', help: 'Blob bytes kernel nodes stored for jobs hosted here', registers });
  }

  /** Starts timing an attempt; call the result with its outcome. */
  start(activity: string): (outcome: string) => void {
    const end = this.#latency.startTimer({ activity });
    return (outcome) => {
      end({ outcome });
    };
  }

  usage(u: CallUsage): void {
    this.#kernelMs.inc(u.kernelMs);
    this.#blobBytes.inc(u.blobBytesWritten);
  }
}
