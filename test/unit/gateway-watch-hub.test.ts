// The watch hub on its own: one upstream watch per job, bounded per-subscriber memory (a
// subscriber that does not pull gets only the newest state), the final state always last,
// NOT_FOUND before the stream starts, and the upstream closed when the last subscriber leaves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobWatchHub } from '../../src/gateway/watch-hub.ts';
import { MemoryJobService } from '../support/memory-job-service.ts';

async function jobWith(jobs: MemoryJobService, tenant = 'alice') {
  const ref = { id: 'a'.repeat(64), width: 4, height: 4, contentType: 'image/png' };
  await jobs.recordUpload(tenant, ref);
  return jobs.create(tenant, { imageId: ref.id, maskId: ref.id });
}

const tick = () => new Promise((r) => setImmediate(r));

test('a subscriber that does not pull holds one state: the newest; the final state arrives', async () => {
  const jobs = new MemoryJobService();
  const hub = new JobWatchHub(jobs);
  const job = await jobWith(jobs);
  const fast = await hub.subscribe('alice', job.id);
  const slow = await hub.subscribe('alice', job.id);
  assert.equal(jobs.watchCount, 1);
  assert.equal((await fast.next()).value?.version, 1);
  const seen: number[] = [];
  const reading = (async () => {
    for await (const v of fast) seen.push(v.version);
  })();
  for (let i = 0; i < 1000; i++) {
    jobs.update(job.id, { status: 'RUNNING', progress: i / 1000 });
    if (i % 100 === 0) await tick();
  }
  jobs.update(job.id, { status: 'COMPLETED', progress: 1 });
  await reading;
  assert.equal(seen.at(-1), 1002);
  // The slow one never pulled: when it finally reads, the state it holds is the final one.
  const got: number[] = [];
  for await (const v of slow) got.push(v.version);
  assert.deepEqual(got, [1002]);
  assert.ok(slow.coalesced > 0);
  assert.equal(hub.subscriberCount, 0);
  assert.equal(hub.feedCount, 0);
});

test("unknown and other tenants' jobs reject before streaming; leaving closes the upstream", async () => {
  const jobs = new MemoryJobService();
  const hub = new JobWatchHub(jobs);
  const job = await jobWith(jobs);
  await assert.rejects(hub.subscribe('alice', 'nope'), { code: 'NOT_FOUND' });
  await assert.rejects(hub.subscribe('bob', job.id), { code: 'NOT_FOUND' });
  assert.equal(hub.subscriberCount, 0);
  const s = await hub.subscribe('alice', job.id);
  assert.equal(hub.feedCount, 1);
  await s.return();
  assert.equal(hub.feedCount, 0);
  assert.equal(hub.subscriberCount, 0);
  // A new subscriber opens a new upstream watch and gets the current state first.
  jobs.update(job.id, { status: 'RUNNING' });
  const again = await hub.subscribe('alice', job.id);
  assert.equal((await again.next()).value?.status, 'RUNNING');
  await again.return();
});
