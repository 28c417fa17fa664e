// One line per history event, as Durable Functions shows its history table: what happened, in
// words a person reads while debugging a job (which step, on which node, what it changed).
import type { HistoryEvent } from '../events.ts';
import { JobActivity, type AdmitOutput, type BlobOutput, type ControlRequest, type PrepareOutput, type StepOutput } from './activities.ts';
import type { InpaintJobInput, InpaintJobOutput, JobSummary } from './job-state.ts';

const short = (id: string | undefined): string => (id ? id.slice(0, 12) : '?');
const ms = (x: number): string => `${Math.round(x)} ms`;

function activitySummary(name: string, value: unknown): string {
  switch (name) {
    case JobActivity.nodes:
      return `${(value as { live: number }).live} kernel node(s) live`;
    case JobActivity.prepare: {
      const p = value as PrepareOutput;
      return `prepared ${p.width}×${p.height}, ${p.holeCount} hole px, ${p.levels.length} levels on ${p.usage.node} (${ms(p.usage.kernelMs)})`;
    }
    case JobActivity.step: {
      const s = value as StepOutput;
      if (s.levelConverged) return `level converged (no step run) on ${s.usage.node}`;
      const first = s.reports[0];
      const last = s.reports[s.reports.length - 1];
      const tiles = last.tileIds.length;
      const changed = s.reports.reduce((n, r) => n + r.changed, 0);
      const what =
        s.reports.length > 1
          ? `${s.reports.length} steps, level ${first.level} it ${first.iteration} → level ${last.level} it ${last.iteration}`
          : `level ${first.level} ${first.mode === 'vote' ? 'vote' : `iteration ${first.iteration}`}`;
      return `${what}, ${tiles} tile(s), ${changed} px changed on ${s.usage.node} (${ms(s.usage.kernelMs)})`;
    }
    case JobActivity.preview:
    case JobActivity.finish: {
      const b = value as BlobOutput;
      return `${name === JobActivity.finish ? 'result' : 'picture'} ${short(b.blob.id)} (${b.blob.size} bytes) on ${b.usage.node} (${ms(b.usage.kernelMs)})`;
    }
    case JobActivity.admit: {
      const a = value as AdmitOutput;
      return a.admitted ? 'admitted: a running slot is free' : `queued at position ${a.position + 1}`;
    }
    case JobActivity.release:
      return 'running slot released';
    default:
      return 'done';
  }
}

function statusSummary(f: Partial<JobSummary>): string {
  const parts: string[] = [];
  if (f.phase) parts.push(f.phase);
  if (f.queuePosition !== undefined && f.queuePosition !== null) parts.push(`queue position ${f.queuePosition + 1}`);
  if (f.level !== undefined) parts.push(`level ${f.level}${f.levels !== undefined ? `/${f.levels}` : ''} iteration ${f.iteration ?? 0}`);
  if (f.progress !== undefined) parts.push(`${Math.round(f.progress * 100)}%`);
  if (f.preview) parts.push(`preview ${short(f.preview.id)}`);
  if (f.result) parts.push(`result ${short(f.result.id)}${f.accepted ? ' (accepted)' : ''}`);
  if (f.accepting) parts.push('accept requested');
  return `status: ${parts.join(', ') || 'updated'}`;
}

export function summarizeEvent(e: HistoryEvent, value: unknown): string {
  switch (e.type) {
    case 'Started': {
      const i = value as InpaintJobInput | undefined;
      if (!i?.job) return `started '${e.orchestration}'`;
      const o = i.job.options;
      return `inpaint started: ${i.image.width}×${i.image.height}, patch ${o.patchSize}, seed ${o.seed}, at most ${o.maxIterations} iterations, ${o.distance}`;
    }
    case 'ContinuedAsNew':
      return `continued as generation ${e.generation}`;
    case 'Activated':
      return `hosted by ${e.host}`;
    case 'TimerCreated':
      return `${e.purpose === 'wait' ? `wait for '${e.name}' until` : 'sleep until'} ${new Date(e.fireAt).toISOString()}`;
    case 'Now':
      return 'clock read';
    case 'SubStarted':
      return `sub-orchestration ${e.childId} started`;
    case 'StatusSet':
      return statusSummary((value ?? {}) as Partial<JobSummary>);
    case 'ActivityCompleted':
      return `${e.name}: ${activitySummary(e.name, value)}${e.attempts && e.attempts > 1 ? ` after ${e.attempts} attempts` : ''}`;
    case 'ActivityFailed':
      return `${e.name} failed after ${e.attempts ?? 1} attempt(s): ${e.error.code}: ${e.error.message}`;
    case 'TimerFired':
      return 'timer fired';
    case 'SubCompleted':
      return `sub-orchestration ${e.childId} ${e.error ? `failed: ${e.error.code}` : 'completed'}`;
    case 'EventRaised': {
      const c = value as ControlRequest | null | undefined;
      return c && typeof c === 'object' && typeof c.type === 'string' ? `event '${e.name}': ${c.type}` : `event '${e.name}'`;
    }
    case 'CancelRequested':
      return `cancel requested: ${e.reason}`;
    case 'Suspended':
      return `suspended: ${e.reason}`;
    case 'Resumed':
      return 'resumed';
    case 'Terminated':
      return `terminated: ${e.reason}`;
    case 'Completed': {
      const o = value as InpaintJobOutput | undefined;
      return o?.result ? `completed: result ${short(o.result.id)}${o.accepted ? ' (accepted early)' : ''}` : 'completed';
    }
    case 'Failed':
      return `failed: ${e.error.code}: ${e.error.message}`;
    case 'Canceled':
      return `canceled: ${e.reason}`;
  }
}
