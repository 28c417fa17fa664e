// Live progress laid over a watched job's view (live-overlay.ts) and the hints' wire form
// (live-hints.ts): a hint shows only while the job runs and the hint is ahead of the history, a
// live preview only while it is newer than the durable one; versions stay in order between two
// durable versions; bad bytes are not hints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIVE_VERSIONS, VERSION_STRIDE } from '../../src/actors/jobs/job-view.ts';
import { LiveOverlay } from '../../src/actors/jobs/live-overlay.ts';
import type { JobView } from '../../src/actors/jobs/types.ts';
import { decodeLiveHint, decodeLiveReply, encodeLive, type LiveHint } from '../../src/common/live-hints.ts';

const img = (id: string) => ({ id: id.repeat(64), width: 40, height: 30, contentType: 'image/jpeg' });

function durable(rev: number, progress: number, fields: Partial<JobView> = {}): JobView {
  return {
    id: 'j',
    tenant: 't',
    status: 'RUNNING',
    progress,
    level: 3,
    levels: 5,
    iteration: 2,
    createdAt: '',
    updatedAt: '',
    image: img('a'),
    mask: img('b'),
    donors: [],
    preview: null,
    result: null,
    error: null,
    options: { patchSize: 7, seed: 1, maxIterations: 10, distance: 'cie76' },
    stats: { kernelCpuMs: 0, kernelCalls: 0, events: 0, blobBytes: 0 },
    version: VERSION_STRIDE * rev,
    ...fields,
  };
}

const hint = (progress: number, iteration: number, preview?: string): LiveHint => ({ level: 2, levels: 5, iteration, progress, changed: 10, ...(preview ? { preview: img(preview) } : {}) });

test('a hint ahead of the history shows, with a version between the durable ones', () => {
  const o = new LiveOverlay();
  const d = durable(3, 0.2);
  assert.equal(o.view(d), d, 'no hint: the durable view itself');
  assert.equal(o.hint(hint(0.3, 1)), true);
  const v = o.view(d)!;
  assert.deepEqual([v.level, v.iteration, v.progress, v.version], [2, 1, 0.3, d.version + 1]);
  assert.equal(o.hint(hint(0.25, 1)), false, 'an older hint is no news');
  assert.equal(o.hint(hint(0.35, 2)), true);
  assert.equal(o.view(d)!.version, d.version + 2);
  // The history catches up and passes the hint: its own view again, in order.
  const later = durable(4, 0.4);
  assert.equal(o.view(later), later);
  assert.ok(later.version > d.version + LIVE_VERSIONS && later.version % VERSION_STRIDE === 0);
});

test('the history behind a hint it has already passed never takes the progress back', () => {
  const o = new LiveOverlay();
  o.hint(hint(0.5, 3));
  const v = o.view(durable(5, 0.45))!;
  assert.equal(v.progress, 0.5);
  assert.equal(v.version, 5 * VERSION_STRIDE + 1);
});

test('a live preview shows while it is newer than the durable preview', () => {
  const o = new LiveOverlay();
  assert.equal(o.view(durable(1, 0.1, { preview: img('c') }))!.preview!.id, img('c').id);
  o.hint(hint(0.2, 1, 'd'));
  assert.equal(o.view(durable(1, 0.1, { preview: img('c') }))!.preview!.id, img('d').id);
  // The history moves on without a newer picture: the live one stays.
  assert.equal(o.view(durable(2, 0.3, { preview: img('c') }))!.preview!.id, img('d').id);
  // A new durable preview, first seen past the live one's step: it replaces it.
  assert.equal(o.view(durable(3, 0.4, { preview: img('e') }))!.preview!.id, img('e').id);
  o.hint(hint(0.35, 2, 'f'));
  const same = o.view(durable(3, 0.4, { preview: img('e') }))!;
  assert.deepEqual([same.version, same.preview!.id], [3 * VERSION_STRIDE, img('e').id], 'an older live picture and older progress: the durable view (same version: nothing new)');
});

test('a durable preview that names its step is ordered by it: a late picture of an old step does not replace a newer live one', () => {
  const o = new LiveOverlay();
  o.hint(hint(0.2, 3, 'd')); // level 2, 3 iterations done
  // The job's preview of level 2 iteration 1 is recorded late, when the history is past the live step.
  const late = o.view(durable(4, 0.3, { preview: img('c'), previewStep: { level: 2, iteration: 1 } }))!;
  assert.equal(late.preview!.id, img('d').id);
  assert.deepEqual(late.previewStep, { level: 2, iteration: 3 });
  // A durable preview of a later step (a finer level) replaces it.
  const newer = o.view(durable(5, 0.4, { preview: img('e'), previewStep: { level: 1, iteration: 1 } }))!;
  assert.equal(newer.preview!.id, img('e').id);
});

test('only a running job takes live progress; a paused or ended one keeps the newest picture', () => {
  const o = new LiveOverlay();
  o.hint(hint(0.9, 4));
  const paused = durable(2, 0.5, { status: 'PAUSED', preview: img('c') });
  assert.equal(o.view(paused), paused);
  o.hint(hint(0.95, 5, 'd'));
  const done = durable(3, 1, { status: 'COMPLETED', version: 3 * VERSION_STRIDE + VERSION_STRIDE - 1, preview: img('c') });
  const v = o.view(done)!;
  assert.deepEqual([v.status, v.progress, v.iteration, v.version, v.preview!.id], ['COMPLETED', 1, 2, done.version, img('d').id]);
});

test('a durable version has room for a bounded number of live views', () => {
  const o = new LiveOverlay();
  const d = durable(1, 0);
  const versions: number[] = [];
  for (let i = 1; i <= LIVE_VERSIONS + 5; i++) {
    o.hint(hint(i / 1000, i));
    const v = o.view(d);
    if (v) versions.push(v.version);
  }
  assert.equal(versions.length, LIVE_VERSIONS);
  assert.equal(versions[versions.length - 1], d.version + LIVE_VERSIONS);
  assert.ok(versions[versions.length - 1] < d.version + VERSION_STRIDE - 1, 'below the ended view of the same rev');
});

test('hints on the wire: round trip, and bytes that are not a hint are refused', () => {
  const h = hint(0.4, 2, 'd');
  assert.deepEqual(decodeLiveHint(encodeLive(h)), h);
  assert.equal(decodeLiveHint(new TextEncoder().encode('nope')), null);
  assert.equal(decodeLiveHint(encodeLive({ ...h, progress: 2 })), null);
  assert.equal(decodeLiveHint(encodeLive({ ...h, level: -1 })), null);
  assert.equal(decodeLiveHint(new TextEncoder().encode(JSON.stringify({ ...h, preview: { id: 5 } }))), null);
  assert.deepEqual(decodeLiveReply(encodeLive({ previews: true })), { previews: true });
  assert.deepEqual(decodeLiveReply(new Uint8Array([1, 2])), { previews: false });
});
