// The watch hub on its own: one upstream watch per job, bounded per-subscriber memory (a
// subscriber that does not pull gets only the newest state), the final state always last,
// NOT_FOUND before the stream starts, and the upstream closed when the last subscriber leaves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobView } from '../../src/actors/jobs/types.ts';
import { FANOUT_CHUNK, JobWatchHub, type JobUpdateStream } from '../../src/gateway/watch-hub.ts';
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

test('a newer state overtakes a fan-out in progress; each stream ends right after the final state', async () => {
  const jobs = new MemoryJobService();
  const job = await jobWith(jobs);
  const got: { final: JobView | null } = { final: null };
  const fanOuts: number[] = [];
  const hub = new JobWatchHub(jobs, undefined, {
    // When the RUNNING state arrives the job completes at once: the COMPLETED state reaches the
    // hub while the RUNNING state's fan-out has handed out only its first chunk.
    onState: (v) => {
      if (v.status === 'RUNNING') got.final = jobs.update(job.id, { status: 'COMPLETED', progress: 1 });
    },
    onFanOut: (v) => fanOuts.push(v.version),
  });
  const n = FANOUT_CHUNK * 3 + 10;
  const streams = await Promise.all(Array.from({ length: n }, () => hub.subscribe('alice', job.id)));
  const seen = streams.map(() => [] as string[]);
  const reading = streams.map(async (s, i) => {
    for await (const v of s) seen[i].push(`${v.version}:${v.status}`);
  });
  // The first state's fan-out is chunked too.
  for (let i = 0; i < 10 && !seen.every((l) => l.length === 1); i++) await tick();
  assert.ok(seen.every((l) => l.length === 1 && l[0] === '1:QUEUED'), 'current state first');
  const running = jobs.update(job.id, { status: 'RUNNING' });
  await Promise.all(reading);
  const final = got.final;
  assert.ok(final);
  const after = (l: string[]) => l.slice(1).join(' ');
  const both = seen.filter((l) => after(l) === `${running.version}:RUNNING ${final.version}:COMPLETED`).length;
  const onlyFinal = seen.filter((l) => after(l) === `${final.version}:COMPLETED`).length;
  // Only the first chunk got the RUNNING state; everyone else got the final state straight away.
  assert.equal(both, FANOUT_CHUNK);
  assert.equal(onlyFinal, n - FANOUT_CHUNK);
  // The RUNNING state never reached everyone, so only the final state's fan-out is reported.
  assert.deepEqual(fanOuts, [1, final.version]);
  assert.equal(hub.subscriberCount, 0);
  assert.equal(hub.feedCount, 0);
});

test('a subscriber that leaves during a fan-out is skipped; one that joins gets the newest state', async () => {
  const jobs = new MemoryJobService();
  const job = await jobWith(jobs);
  const n = FANOUT_CHUNK * 2;
  const at: { leaving: JobUpdateStream | null; late: Promise<JobUpdateStream> | null } = { leaving: null, late: null };
  const hub = new JobWatchHub(jobs, undefined, {
    // A microtask queued here runs once the fan-out handed out its first chunk and waits for the
    // event loop: the last subscriber (second chunk) leaves, a new one joins.
    onState: (v) => {
      if (v.status === 'RUNNING') {
        queueMicrotask(() => {
          void at.leaving?.return();
          at.late = hub.subscribe('alice', job.id);
        });
      }
    },
  });
  const streams = await Promise.all(Array.from({ length: n }, () => hub.subscribe('alice', job.id)));
  for (const s of streams) assert.equal((await s.next()).value?.version, 1);
  const leaving = (at.leaving = streams[n - 1]);
  jobs.update(job.id, { status: 'RUNNING' });
  while (!at.late) await tick();
  const joined = await at.late;
  assert.equal((await joined.next()).value?.status, 'RUNNING');
  assert.equal(leaving.lastOffered?.status, 'QUEUED', 'never handed a state after it left');
  jobs.update(job.id, { status: 'COMPLETED' });
  for (const s of [...streams.slice(0, n - 1), joined]) {
    const rest: string[] = [];
    for await (const v of s) rest.push(v.status);
    assert.equal(rest.at(-1), 'COMPLETED');
  }
  assert.equal((await leaving.next()).done, true);
  assert.equal(hub.subscriberCount, 0);
  assert.equal(hub.feedCount, 0);
});
