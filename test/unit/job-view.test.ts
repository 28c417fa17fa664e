// The job view is the same whether it is read from the instance index (get, list) or folded from
// the history (watch): statuses map alike, the version counts status updates, the final view
// carries the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryEvent } from '../../src/actors/index.ts';
import type { InpaintJobInput } from '../../src/actors/jobs/job-state.ts';
import { DEFAULT_FILL_SETTINGS } from '../../src/actors/jobs/job-state.ts';
import { initialSummary, JobFold, jobStatusOf, jobView } from '../../src/actors/jobs/job-view.ts';
import { summarizeEvent } from '../../src/actors/jobs/job-history.ts';

const img = { id: 'a'.repeat(64), width: 40, height: 30, contentType: 'image/png' };
const input: InpaintJobInput = {
  tenant: 't',
  job: { jobId: 'j1', imageBlobId: img.id, maskBlobId: 'b'.repeat(64), donorBlobIds: [], options: { patchSize: 7, seed: 1, maxIterations: 10, distance: 'cie76' } },
  image: img,
  mask: { ...img, id: 'b'.repeat(64) },
  donors: [],
  cap: 2,
  settings: { ...DEFAULT_FILL_SETTINGS },
};

test('statuses: the runtime status and the phase give the job status', () => {
  assert.equal(jobStatusOf('PENDING', {}), 'QUEUED');
  assert.equal(jobStatusOf('RUNNING', { phase: 'queued' }), 'QUEUED');
  assert.equal(jobStatusOf('RUNNING', { phase: 'running' }), 'RUNNING');
  assert.equal(jobStatusOf('RUNNING', { phase: 'paused' }), 'PAUSED');
  assert.equal(jobStatusOf('RUNNING', { phase: 'completed' }), 'RUNNING', 'until the terminal event is stored');
  assert.equal(jobStatusOf('COMPLETED', { phase: 'completed' }), 'COMPLETED');
  assert.equal(jobStatusOf('FAILED', {}), 'FAILED');
  assert.equal(jobStatusOf('CANCELED', { phase: 'paused' }), 'CANCELED');
  assert.equal(jobStatusOf('TERMINATED', {}), 'CANCELED');
});

test('folding a history gives the view the index gives for the same facts', () => {
  const result = { id: 'c'.repeat(64), width: 40, height: 30, contentType: 'image/png' };
  const steps: Array<[HistoryEvent, unknown]> = [
    [{ type: 'Started', orchestration: 'inpaint', generation: 0, seed: 1, at: 1_000, tenant: 't' }, input],
    [{ type: 'Activated', host: 'h', at: 1_001 }, undefined],
    [{ type: 'StatusSet', seq: 2 }, { phase: 'running', rev: 1 }],
    [{ type: 'StatusSet', seq: 5 }, { level: 1, levels: 2, iteration: 1, progress: 0.4, rev: 2, stats: { kernelCpuMs: 10.4, kernelCalls: 3, blobBytes: 99 } }],
    [{ type: 'StatusSet', seq: 7 }, { phase: 'completed', progress: 1, result, rev: 3 }],
    [{ type: 'Completed', at: 1_500 }, { result, accepted: false }],
  ];
  const fold = new JobFold('j1');
  const versions: number[] = [];
  for (const [e, v] of steps) {
    fold.apply(e, v, 2_000);
    if (fold.record.tenant) versions.push(jobView(fold.record).version);
  }
  assert.deepEqual(versions, [0, 0, 64, 128, 192, 255], 'version = 64 x rev, + 63 once ended');
  const folded = jobView(fold.record);
  const indexed = jobView({
    id: 'j1',
    tenant: 't',
    status: 'COMPLETED',
    createdAt: 1_000,
    updatedAt: 2_000,
    summary: { ...initialSummary(input), phase: 'completed', level: 1, levels: 2, iteration: 1, progress: 1, rev: 3, stats: { kernelCpuMs: 10.4, kernelCalls: 3, blobBytes: 99 }, result },
    events: 6,
  });
  assert.deepEqual(folded, indexed);
  assert.equal(folded.status, 'COMPLETED');
  assert.equal(folded.result?.id, result.id);
  assert.equal(folded.stats.kernelCpuMs, 10);
  assert.equal(folded.options.patchSize, 7);
});

test('a failed job shows the kernel\'s code; a canceled one no error; every event has a one-line summary', () => {
  const fold = new JobFold('j2');
  fold.apply({ type: 'Started', orchestration: 'inpaint', generation: 0, seed: 1, at: 1, tenant: 't' }, input, 1);
  fold.apply({ type: 'Failed', error: { code: 'EMPTY_SOURCE', message: 'nothing to fill from', retryable: false }, at: 2 }, undefined, 2);
  assert.deepEqual(jobView(fold.record).error, { code: 'EMPTY_SOURCE', message: 'nothing to fill from' });
  const c = new JobFold('j3');
  c.apply({ type: 'Started', orchestration: 'inpaint', generation: 0, seed: 1, at: 1, tenant: 't' }, input, 1);
  c.apply({ type: 'Canceled', reason: 'by client', at: 2 }, undefined, 2);
  assert.equal(jobView(c.record).status, 'CANCELED');
  assert.equal(jobView(c.record).error, null);
  assert.match(summarizeEvent({ type: 'Started', orchestration: 'inpaint', generation: 0, seed: 1, at: 1 }, input), /40×30, patch 7, seed 1/);
  assert.match(
    summarizeEvent({ type: 'ActivityCompleted', seq: 3, name: 'kernel.step' }, {
      levelConverged: false,
      reports: [{ level: 0, iteration: 2, mode: 'iterate', changed: 12, results: [], converged: false, tileIds: [1, 2], tileMs: [1, 1], startState: new Uint8Array(0) }],
      usage: { kernelMs: 5, blobBytesRead: 0, blobBytesWritten: 0, attempts: 1, node: 'n1' },
    }),
    /level 0 iteration 2, 2 tile\(s\), 12 px changed on n1/,
  );
  assert.match(summarizeEvent({ type: 'EventRaised', eid: 'x', name: 'control' }, { type: 'pause' }), /control': pause/);
});
