// Live progress of a job run as team runs (src/common/live-hints.ts): a watch shows the steps
// between the job's durable records and live previews of them, every preview readable by the
// job's tenant and never older than the one before; nobody watching, the run publishes progress
// hints only and renders no live preview. Real nats-server, two kernel node processes, the job
// runtime in this process. The result is the same bytes as `patchwork local` either way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { JobRuntime, JobView } from '../../src/actors/index.ts';
import { VERSION_STRIDE } from '../../src/actors/jobs/job-view.ts';
import { decodeLiveHint, type LiveHint } from '../../src/common/live-hints.ts';
import { patchworkNames } from '../../src/common/names.ts';
import { collectWatch, exampleCase, localResultId, startJobCluster, type JobTestCluster } from '../support/job-cluster.ts';
import { waitFor } from '../support/actors.ts';

let c: JobTestCluster;
let rt: JobRuntime;
const tenant = 'tenant-live';
const options = { seed: 7 };

before(async () => {
  c = await startJobCluster({ nodes: 2 });
  rt = await c.runtime({ tenantRunningCap: 4 });
});
after(async () => {
  await c?.close();
});

async function submit(): Promise<{ id: string; expected: Promise<string> }> {
  const ex = await exampleCase('t067');
  const image = await c.upload(rt.jobs, tenant, ex.image);
  const mask = await c.upload(rt.jobs, tenant, ex.mask);
  const job = await rt.jobs.create(tenant, { imageId: image.id, maskId: mask.id, options });
  return { id: job.id, expected: localResultId(ex, options) };
}

const stepOf = (v: JobView): string => `${v.level}/${v.iteration}`;
const isLive = (v: JobView): boolean => v.version % VERSION_STRIDE !== 0 && v.status === 'RUNNING';

test('a watched job shows the steps between its records live, with previews of them', { timeout: 180_000 }, async (t) => {
  const { id, expected } = await submit();
  const views = await collectWatch(rt.jobs, tenant, id);
  const final = views[views.length - 1];
  assert.equal(final.status, 'COMPLETED', JSON.stringify(final.error));
  assert.equal(final.result?.id, await expected, 'live progress changed the result');

  for (let i = 1; i < views.length; i++) {
    assert.ok(views[i].version > views[i - 1].version, 'versions grow');
    assert.ok(views[i].progress >= views[i - 1].progress, 'progress never goes back');
  }
  const live = views.filter(isLive);
  assert.ok(live.length > 0, 'live views were shown');
  // The history records a run's steps when the run ends; live views show them as they happen.
  const firstView = new Map<string, JobView>();
  for (const v of views) if (v.status === 'RUNNING' && v.level !== null && !firstView.has(stepOf(v))) firstView.set(stepOf(v), v);
  const shownLiveFirst = [...firstView.values()].filter(isLive).length;
  assert.ok(shownLiveFirst > 0, `of ${firstView.size} steps shown, none was shown live before the history had it`);

  const previews = [...new Set(views.map((v) => v.preview?.id).filter((p): p is string => !!p))];
  const livePreviews = new Set(live.map((v) => v.preview?.id).filter((p): p is string => !!p));
  const durablePreviews = new Set(views.filter((v) => !isLive(v)).map((v) => v.preview?.id));
  const onlyLive = [...livePreviews].filter((p) => !durablePreviews.has(p));
  t.diagnostic(`${views.length} views, ${live.length} live; ${firstView.size} steps, ${shownLiveFirst} shown live first; ${previews.length} previews, ${onlyLive.length} live only`);
  assert.ok(onlyLive.length > 0, `live previews were shown (${previews.length} previews in all)`);
  for (const p of previews) {
    assert.ok(await rt.jobs.ownsBlob(tenant, p), 'the tenant may read every preview it was shown');
    assert.equal(await rt.jobs.ownsBlob('someone-else', p), false);
    const meta = await sharp(await c.store.get(p)).metadata();
    assert.deepEqual([meta.width, meta.height], [final.image.width, final.image.height], 'previews are full size');
  }
  // A picture is only ever replaced by a newer one: the first time each preview appears, in order.
  const firstSeen = views.map((v) => v.preview?.id).filter((p, i, all): p is string => !!p && all.indexOf(p) === i);
  for (let i = 0; i < views.length; i++) {
    const p = views[i].preview?.id;
    if (!p || i === 0) continue;
    const prev = views[i - 1].preview?.id;
    if (prev) assert.ok(firstSeen.indexOf(p) >= firstSeen.indexOf(prev), 'a preview never goes back to an older one');
  }
});

test('nobody watching: the run publishes progress hints, and renders no live preview', { timeout: 180_000 }, async (t) => {
  // A subscriber that never answers: to the publisher nobody wants previews.
  const sub = c.nc.subscribe(patchworkNames(c.namespace).liveSubject('*'));
  const hints: LiveHint[] = [];
  const reading = (async () => {
    for await (const m of sub) {
      const h = decodeLiveHint(m.data);
      assert.ok(h, 'every hint decodes');
      hints.push(h);
    }
  })();
  try {
    const { id, expected } = await submit();
    const done = await waitFor(
      'the job to complete',
      async () => {
        const v = await rt.jobs.get(tenant, id);
        return v && v.status === 'COMPLETED' ? v : false;
      },
      150_000,
    );
    assert.equal(done.result?.id, await expected);
    t.diagnostic(`${hints.length} hints`);
    assert.ok(hints.length > 0, 'hints were published');
    assert.ok(hints.every((h) => h.preview === undefined), 'no live preview without a watcher');
    for (let i = 1; i < hints.length; i++) assert.ok(hints[i].progress >= hints[i - 1].progress, 'hints come in order');
    for (const h of hints) assert.ok(h.level < h.levels && h.iteration >= 1 && h.progress > 0 && h.progress < 1);
  } finally {
    sub.unsubscribe();
    await reading;
  }
});
