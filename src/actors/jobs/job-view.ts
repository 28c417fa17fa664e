// A job as clients see it (JobView), from either of two sources that hold the same facts:
// - the instance index entry (status, timestamps, the summary merged from every StatusSet):
//   cheap, for get and list;
// - the job's history, folded event by event (JobFold): for watching, so any process can follow
//   any job from JetStream alone.
// Both go through `jobView`, so a job looks the same whichever way it was read. The version is
// VERSION_STRIDE × the orchestration's status count (`rev`), + VERSION_STRIDE - 1 once the job
// has ended: it grows with every change and is the same number from both sources. The numbers in
// between belong to a watch's live views (live-overlay.ts): live progress laid over the durable
// view of that rev, ordered after it and before the next.
import type { ErrorInfo } from '../../common/errors.ts';
import type { HistoryEvent } from '../events.ts';
import type { InstanceStatusName } from '../instance-index.ts';
import type { InpaintJobInput, InpaintJobOutput, JobSummary } from './job-state.ts';
import type { JobStatus, JobView } from './types.ts';

/** The facts a view is made from, whichever source they came from. */
export interface JobRecord {
  id: string;
  tenant: string;
  status: InstanceStatusName;
  createdAt: number;
  updatedAt: number;
  summary: Partial<JobSummary>;
  error?: ErrorInfo;
  output?: InpaintJobOutput;
  /** Events in the job's history so far. */
  events: number;
}

export const VERSION_STRIDE = 64;
/** Live views one durable version has room for (its version + 1 .. + LIVE_VERSIONS; the ended view is + 63). */
export const LIVE_VERSIONS = VERSION_STRIDE - 2;

const TERMINAL: ReadonlySet<InstanceStatusName> = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED']);

export function jobStatusOf(status: InstanceStatusName, summary: Partial<JobSummary>): JobStatus {
  switch (status) {
    case 'PENDING':
      return 'QUEUED';
    case 'SUSPENDED':
      return 'PAUSED';
    case 'COMPLETED':
      return 'COMPLETED';
    case 'FAILED':
      return 'FAILED';
    case 'CANCELED':
    case 'TERMINATED':
      return 'CANCELED';
    case 'RUNNING':
      return summary.phase === 'paused' ? 'PAUSED' : summary.phase === 'queued' || summary.phase === undefined ? 'QUEUED' : 'RUNNING';
  }
}

export function jobView(r: JobRecord): JobView {
  const s = r.summary;
  const terminal = TERMINAL.has(r.status);
  const status = jobStatusOf(r.status, s);
  const stats = s.stats ?? { kernelCpuMs: 0, kernelCalls: 0, blobBytes: 0 };
  let error: JobView['error'] = null;
  if (r.status === 'FAILED' || r.status === 'TERMINATED') error = { code: r.error?.code ?? 'FAILED', message: r.error?.message ?? 'the job failed' };
  const options = s.options ?? { patchSize: 0, seed: 0, maxIterations: 0, distance: 'cie76' as const };
  return {
    id: r.id,
    tenant: r.tenant,
    status,
    progress: status === 'COMPLETED' ? 1 : Math.max(0, Math.min(1, s.progress ?? 0)),
    level: s.level ?? null,
    levels: s.levels ?? null,
    iteration: s.iteration ?? null,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    image: s.image!,
    mask: s.mask!,
    donors: s.donors ?? [],
    preview: s.preview ?? null,
    previewStep: s.previewStep ?? null,
    result: status === 'COMPLETED' ? (s.result ?? r.output?.result ?? null) : null,
    error,
    options: { ...options },
    stats: { kernelCpuMs: Math.round(stats.kernelCpuMs), kernelCalls: stats.kernelCalls, events: r.events, blobBytes: stats.blobBytes },
    version: VERSION_STRIDE * (s.rev ?? 0) + (terminal ? VERSION_STRIDE - 1 : 0),
  };
}

/** The summary a job starts with (also what the history's Started input gives). */
export function initialSummary(input: InpaintJobInput): Partial<JobSummary> {
  return { rev: 0, phase: 'queued', image: input.image, mask: input.mask, donors: input.donors, options: input.job.options, progress: 0 };
}

/** Folds a job's history into the record its view is made from. */
export class JobFold {
  readonly record: JobRecord;

  constructor(id: string) {
    this.record = { id, tenant: '', status: 'PENDING', createdAt: 0, updatedAt: 0, summary: {}, events: 0 };
  }

  get terminal(): boolean {
    return TERMINAL.has(this.record.status);
  }

  /** Applies one event; `value` is its decoded user value, `time` its message's time. */
  apply(event: HistoryEvent, value: unknown, time: number): void {
    const r = this.record;
    r.events++;
    r.updatedAt = Math.max(r.updatedAt, time);
    switch (event.type) {
      case 'Started': {
        const input = value as InpaintJobInput;
        r.tenant = event.tenant ?? input.tenant;
        r.createdAt = event.at;
        r.summary = { ...initialSummary(input), ...r.summary };
        return;
      }
      case 'Activated':
        if (r.status === 'PENDING') r.status = 'RUNNING';
        return;
      case 'StatusSet':
        Object.assign(r.summary, value as Partial<JobSummary>);
        return;
      case 'Completed':
        r.status = 'COMPLETED';
        r.output = value as InpaintJobOutput;
        return;
      case 'Failed':
        r.status = 'FAILED';
        r.error = event.error;
        return;
      case 'Canceled':
        r.status = 'CANCELED';
        r.error = { code: 'CANCELED', message: event.reason, retryable: false };
        return;
      case 'Terminated':
        r.status = 'TERMINATED';
        r.error = { code: 'TERMINATED', message: event.reason, retryable: false };
        return;
      default:
        return;
    }
  }
}
