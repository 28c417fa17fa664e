// How `patchwork run` shows a job converging: a progress bar (cli-progress) with level and
// iteration on a terminal; on anything else one line per status change, so logs stay short.
import cliProgress from 'cli-progress';
import type { JobData } from './documents.ts';
import { levelText } from './output.ts';

export interface ProgressView {
  update(job: JobData): void;
  /** A message that must not be drawn over by the bar. */
  note(line: string): void;
  stop(): void;
}

export function progressView(mode: 'bar' | 'lines' | 'silent', stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (mode === 'silent') return { update() {}, note() {}, stop() {} };
  if (mode === 'lines') {
    let last = '';
    return {
      update(job) {
        if (job.status !== last) stream.write(`job ${job.id}: ${job.status}\n`);
        last = job.status;
      },
      note(line) {
        stream.write(`${line}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: '{status} |{bar}| {percentage}% | level {level} | iteration {iteration}', stream, hideCursor: true, clearOnComplete: false, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const values = (job: JobData) => ({ status: job.status.padEnd(9), level: levelText(job), iteration: job.iteration ?? '-' });
  return {
    update(job) {
      const pct = Math.floor(job.progress * 100);
      if (!started) {
        bar.start(100, pct, values(job));
        started = true;
      } else bar.update(pct, values(job));
    },
    note(line) {
      if (started) {
        bar.stop();
        started = false;
      }
      stream.write(`${line}\n`);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
