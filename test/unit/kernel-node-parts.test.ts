// The node's bounded parts on their own: admission and the prepared-job cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission } from '../../src/kernel/node/admission.ts';
import { JobCache, type PreparedJob } from '../../src/kernel/node/job-cache.ts';

test('admission takes up to capacity, refuses more, and refuses everything while draining', async () => {
  const a = new Admission(2);
  assert.equal(a.enter(), 'ok');
  assert.equal(a.enter(), 'ok');
  assert.equal(a.enter(), 'busy');
  assert.equal(a.inFlight, 2);
  a.leave();
  assert.equal(a.enter(), 'ok');
  a.drain();
  assert.equal(a.enter(), 'draining');
  let idle = false;
  const waiting = a.idle().then(() => (idle = true));
  a.leave();
  await Promise.resolve();
  assert.equal(idle, false);
  a.leave();
  await waiting;
  assert.equal(idle, true);
});

function fakeJob(key: string, bytes: number): PreparedJob {
  return { key, bytes, options: {} as PreparedJob['options'], image: { width: 1, height: 1, data: new Uint8Array(4) }, plan: {} as PreparedJob['plan'], levels: [] };
}

test('job cache: one load for concurrent callers, LRU eviction by bytes, pinned jobs stay', async () => {
  const evicted: string[] = [];
  const cache = new JobCache(100, (j) => evicted.push(j.key));
  let loads = 0;
  const loader = (bytes: number) => async (key: string) => {
    loads++;
    await new Promise((r) => setTimeout(r, 5));
    return fakeJob(key, bytes);
  };
  const [a1, a2] = await Promise.all([cache.acquire('a', loader(40)), cache.acquire('a', loader(40))]);
  assert.equal(loads, 1);
  assert.equal(a1.prepared, true);
  assert.equal(a2.prepared, false);
  a1.release();
  a2.release();
  (await cache.acquire('b', loader(40))).release();
  const c = await cache.acquire('c', loader(40)); // 120 bytes: 'a' (least recent, unpinned) goes
  assert.deepEqual(evicted, ['a']);
  const d = await cache.acquire('d', loader(90)); // over budget; 'b' goes, 'c' is pinned
  assert.deepEqual(evicted, ['a', 'b']);
  assert.ok(cache.has('c') && cache.has('d'));
  c.release(); // now 'c' can go
  assert.deepEqual(evicted, ['a', 'b', 'c']);
  d.release();
  assert.equal(cache.count, 1);
  await assert.rejects(cache.acquire('e', () => Promise.reject(new Error('no such image'))), /no such image/);
  assert.equal(cache.has('e'), false);
});
