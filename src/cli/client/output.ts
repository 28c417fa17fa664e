// What the client commands print: one-line and multi-line job descriptions for people, JSON for
// scripts (`--json`), and errors in both forms.
import type { JobData } from './documents.ts';
import type { ClientError } from './errors.ts';

/** "level 2/5" counting up from the coarsest level, as `patchwork local` shows it. */
export function levelText(job: Pick<JobData, 'level' | 'levels'>): string {
  return job.level === null || job.levels === null ? '-' : `${job.levels - job.level}/${job.levels}`;
}

export function percent(progress: number): string {
  return `${Math.floor(progress * 100)}%`;
}

export function jobLine(job: JobData): string {
  return `${job.id}  ${job.status.padEnd(9)}  ${percent(job.progress).padStart(4)}  ${job.image.width}x${job.image.height}  ${job.createdAt}`;
}

export function jobTable(jobs: JobData[]): string {
  if (jobs.length === 0) return 'no jobs yet';
  const rows = [['ID', 'STATUS', 'PROGRESS', 'LEVEL', 'ITER', 'SIZE', 'CREATED'], ...jobs.map((j) => [j.id, j.status, percent(j.progress), levelText(j), j.iteration === null ? '-' : String(j.iteration), `${j.image.width}x${j.image.height}`, j.createdAt])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

export function jobDetails(job: JobData): string {
  const o = job.options;
  const lines: Array<[string, string]> = [
    ['job', job.id],
    ['status', job.status],
    ['progress', `${percent(job.progress)}  (level ${levelText(job)}, iteration ${job.iteration ?? '-'})`],
    ['image', `${job.image.width}x${job.image.height} ${job.image.contentType}  ${job.image.url}`],
    ['options', `patch size ${o.patchSize}, seed ${o.seed}, max iterations ${o.maxIterations}, distance ${o.distance}`],
    ['created', job.createdAt],
    ['updated', job.updatedAt],
  ];
  if (job.preview) lines.push(['preview', job.preview.url]);
  if (job.result) lines.push(['result', job.result.url]);
  if (job.error) lines.push(['error', `${job.error.code}: ${job.error.message}`]);
  lines.push(['cost', `${Math.round(job.stats.kernelCpuMs)} ms kernel CPU, ${job.stats.kernelCalls} kernel calls, ${job.stats.events} events, ${Math.round(job.stats.blobBytes / 1024)} KiB stored`]);
  return lines.map(([k, v]) => `${k.padEnd(9)} ${v}`).join('\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints an error the way the mode asks: `{"error": {...}}` on stdout for --json, a line on stderr otherwise. */
export function printError(command: string, err: ClientError, json: boolean): void {
  if (json) printJson({ error: err.toJSON() });
  else process.stderr.write(`patchwork ${command}: ${err.describe()}\n`);
}
