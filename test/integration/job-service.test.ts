// The job service's contract on real parts: idempotency keys, tenant isolation (another tenant's
// ids behave as if they did not exist), the per-tenant running cap (extra jobs wait QUEUED and
// start when a slot frees), coded errors for bad input, listing, history paging, and watching a
// job from a process that does not host it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { ImageRef, JobRuntime, JobView } from '../../src/actors/index.ts';
import { blobIdOf } from '../../src/common/blob-store.ts';
import { decodeImage, encodeImage } from '../../src/kernel/index.ts';
import { collectWatch, exampleCase, startJobCluster, type JobTestCluster } from '../support/job-cluster.ts';
import { waitFor } from '../support/actors.ts';

let c: JobTestCluster;
let rt: JobRuntime;
let image: ImageRef;
let mask: ImageRef;

before(async () => {
  c = await startJobCluster({ nodes: 2 });
  rt = await c.runtime({ tenantRunningCap: 4 });
  const ex = await exampleCase('t023', 160);
  image = await c.upload(rt.jobs, 'a', ex.image);
  mask = await c.upload(rt.jobs, 'a', ex.mask);
});
after(async () => {
  await c?.close();
});

const finished = (v: JobView) => ['COMPLETED', 'FAILED', 'CANCELED'].includes(v.status);

async function untilDone(r: JobRuntime, tenant: string, id: string): Promise<JobView> {
  const views = await collectWatch(r.jobs, tenant, id);
  return views[views.length - 1];
}

test('an idempotency key returns the existing job, per tenant', { timeout: 60_000 }, async () => {
  const input = { imageId: image.id, maskId: mask.id, idempotencyKey: 'order-17', options: { seed: 2 } };
  const [a, b] = await Promise.all([rt.jobs.create('a', input), rt.jobs.create('a', input)]);
  assert.equal(a.id, b.id, 'concurrent creates with one key make one job');
  const again = await rt.jobs.create('a', { ...input, options: { seed: 99 } });
  assert.equal(again.id, a.id, 'the key wins over a changed input');
  assert.equal(again.options.seed, 2);
  // Another tenant with the same key gets its own job (with its own uploads).
  await c.upload(rt.jobs, 'b', (await exampleCase('t023', 160)).image);
  await c.upload(rt.jobs, 'b', (await exampleCase('t023', 160)).mask);
  const other = await rt.jobs.create('b', input);
  assert.notEqual(other.id, a.id);
  const listed = await rt.jobs.list('a', { first: 100 });
  assert.equal(listed.items.filter((v) => v.id === a.id).length, 1);
  assert.equal((await untilDone(rt, 'a', a.id)).status, 'COMPLETED');
  assert.equal((await untilDone(rt, 'b', other.id)).status, 'COMPLETED');
});

test('another tenant sees nothing: jobs, uploads, blobs, history, watch and controls answer not found', { timeout: 60_000 }, async () => {
  const job = await rt.jobs.create('a', { imageId: image.id, maskId: mask.id });
  const done = await untilDone(rt, 'a', job.id);
  assert.equal(done.status, 'COMPLETED');
  assert.equal(await rt.jobs.get('z', job.id), null);
  assert.equal(await rt.jobs.getUpload('z', image.id), null);
  assert.equal(await rt.jobs.ownsBlob('z', image.id), false);
  assert.equal(await rt.jobs.ownsBlob('z', done.result!.id), false);
  assert.equal(await rt.jobs.ownsBlob('a', done.result!.id), true);
  assert.equal(await rt.jobs.ownsBlob('a', image.id), true);
  for (const op of ['cancel', 'pause', 'resume', 'accept'] as const) await assert.rejects(rt.jobs[op]('z', job.id), { code: 'JOB_NOT_FOUND' }, op);
  await assert.rejects(rt.jobs.history('z', job.id), { code: 'JOB_NOT_FOUND' });
  await assert.rejects(collectWatch(rt.jobs, 'z', job.id), { code: 'JOB_NOT_FOUND' });
  assert.ok(!(await rt.jobs.list('z')).items.some((v) => v.id === job.id));
  await assert.rejects(rt.jobs.create('z', { imageId: image.id, maskId: mask.id }), { code: 'UPLOAD_NOT_FOUND' });
  // Ids that are not job ids at all behave the same.
  assert.equal(await rt.jobs.get('a', '../etc/passwd'), null);
  assert.equal(await rt.jobs.get('a', 'no-such-job'), null);
  // A finished job cannot be controlled.
  await assert.rejects(rt.jobs.pause('a', job.id), { code: 'JOB_FINISHED' });
});

test('bad input gets coded errors with the kernel\'s reasons; an all-hole mask fails the job with EMPTY_SOURCE', { timeout: 60_000 }, async () => {
  const create = (input: Record<string, unknown>) => rt.jobs.create('a', { imageId: image.id, maskId: mask.id, ...input });
  await assert.rejects(create({ imageId: 'f'.repeat(64) }), { code: 'UPLOAD_NOT_FOUND' });
  await assert.rejects(create({ donorIds: ['nope'] }), { code: 'UPLOAD_NOT_FOUND' });
  const small = await c.upload(rt.jobs, 'a', await sharp({ create: { width: 40, height: 30, channels: 4, background: '#000' } }).png().toBuffer());
  await assert.rejects(create({ maskId: small.id }), (e: { code: string; message: string }) => e.code === 'BAD_MASK_SIZE' && /40x30/.test(e.message));
  await assert.rejects(create({ options: { patchSize: 4 } }), (e: { code: string; message: string }) => e.code === 'BAD_OPTION' && /patchSize must be odd/.test(e.message));
  await assert.rejects(create({ options: { patchSize: 99 } }), { code: 'BAD_OPTION' });
  await assert.rejects(create({ options: { maxIterations: 0 } }), { code: 'BAD_OPTION' });
  await assert.rejects(create({ options: { distance: 'manhattan' } }), { code: 'BAD_OPTION' });
  await assert.rejects(create({ options: { tileSize: 16 } }), (e: { code: string; message: string }) => e.code === 'BAD_OPTION' && /tileSize/.test(e.message));
  await assert.rejects(create({ idempotencyKey: '' }), { code: 'BAD_USER_INPUT' });
  await assert.rejects(rt.jobs.create('a', null as never), { code: 'BAD_USER_INPUT' });
  await assert.rejects(rt.jobs.list('a', { after: 'garbage' }), { code: 'BAD_CURSOR' });
  await assert.rejects(rt.jobs.list('a', { first: 0 }), { code: 'BAD_USER_INPUT' });
  await assert.rejects(rt.jobs.recordUpload('a', { id: 'x', width: 1, height: 1, contentType: 'image/png' }), { code: 'BAD_USER_INPUT' });

  // A mask that covers everything leaves nothing to copy from: the job fails with the kernel's code.
  const full = await c.upload(rt.jobs, 'a', await sharp({ create: { width: image.width, height: image.height, channels: 3, background: '#fff' } }).png().toBuffer());
  const doomed = await rt.jobs.create('a', { imageId: image.id, maskId: full.id });
  const failed = await untilDone(rt, 'a', doomed.id);
  assert.equal(failed.status, 'FAILED');
  assert.equal(failed.error?.code, 'EMPTY_SOURCE');
  assert.match(failed.error!.message, /nothing to fill from/);

  // An empty mask: nothing to fill, the result is the photo.
  const none = await c.upload(rt.jobs, 'a', await sharp({ create: { width: image.width, height: image.height, channels: 3, background: '#000' } }).png().toBuffer());
  const noop = await untilDone(rt, 'a', (await rt.jobs.create('a', { imageId: image.id, maskId: none.id })).id);
  assert.equal(noop.status, 'COMPLETED');
  const photo = await encodeImage(await decodeImage(await c.store.get(image.id), 'image'), 'png');
  assert.equal(noop.result?.id, blobIdOf(photo));
});

test('per-tenant cap: the extra job waits QUEUED (durably, in its orchestration) and runs when a slot frees; other tenants are not held', { timeout: 120_000 }, async () => {
  const capped = await c.runtime({ tenantRunningCap: 1 });
  const big = await exampleCase('t067');
  const bigImage = await c.upload(capped.jobs, 'q', big.image);
  const bigMask = await c.upload(capped.jobs, 'q', big.mask);
  await c.upload(capped.jobs, 'r', big.image);
  await c.upload(capped.jobs, 'r', big.mask);
  const first = await capped.jobs.create('q', { imageId: bigImage.id, maskId: bigMask.id });
  const second = await capped.jobs.create('q', { imageId: bigImage.id, maskId: bigMask.id, options: { seed: 2 } });
  const third = await capped.jobs.create('q', { imageId: bigImage.id, maskId: bigMask.id, options: { seed: 3 } });
  const otherTenant = await capped.jobs.create('r', { imageId: bigImage.id, maskId: bigMask.id });
  assert.equal(first.status, 'RUNNING');
  assert.equal(second.status, 'QUEUED');
  assert.equal(third.status, 'QUEUED');
  assert.equal(otherTenant.status, 'RUNNING', 'the cap is per tenant');
  assert.deepEqual((await capped.jobs.list('q', { status: 'QUEUED' })).items.map((v) => v.id).sort(), [second.id, third.id].sort());

  // A queued job can be canceled: it leaves the queue.
  assert.equal((await capped.jobs.cancel('q', third.id)).status, 'CANCELED');

  const firstDone = await untilDone(capped, 'q', first.id);
  assert.equal(firstDone.status, 'COMPLETED');
  const secondDone = await untilDone(capped, 'q', second.id);
  assert.equal(secondDone.status, 'COMPLETED');
  // The queued job did no kernel work before the first one finished.
  const secondHistory = (await capped.jobs.history('q', second.id, { first: 100 })).items;
  const firstKernel = secondHistory.find((h) => h.summary.startsWith('kernel.'));
  assert.ok(firstKernel);
  assert.ok(Date.parse(firstKernel.time) >= Date.parse(firstDone.updatedAt) - 50, `second job's first kernel call at ${firstKernel.time}, first job ended ${firstDone.updatedAt}`);
  assert.ok(secondHistory.some((h) => h.summary.includes('queued at position 1')));
  await waitFor('the slots to empty', async () => (await untilDone(capped, 'r', otherTenant.id)).status === 'COMPLETED');
});

test('listing pages newest first with a status filter; history pages; a process that does not host the job watches it', { timeout: 60_000 }, async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await rt.jobs.create('lister', await (async () => {
    const ex = await exampleCase('t023', 128);
    const im = await c.upload(rt.jobs, 'lister', ex.image);
    const mk = await c.upload(rt.jobs, 'lister', ex.mask);
    return { imageId: im.id, maskId: mk.id, options: { seed: 40 + i } };
  })())).id);
  // Watch the last one from a runtime whose host claims nothing: it reads the history only.
  const viewer = await c.runtime({ host: { claim: false } });
  const views = await collectWatch(viewer.jobs, 'lister', ids[2]);
  assert.equal(views[views.length - 1].status, 'COMPLETED');
  for (const id of ids) await untilDone(rt, 'lister', id);
  // A late subscriber gets the final state at once.
  const late = await collectWatch(viewer.jobs, 'lister', ids[0]);
  assert.equal(late.length, 1);
  assert.equal(late[0].status, 'COMPLETED');

  const seen: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 5; page++) {
    const p = await rt.jobs.list('lister', { first: 2, after });
    seen.push(...p.items.map((v) => v.id));
    if (!p.hasNextPage) break;
    after = p.endCursor;
  }
  assert.deepEqual(seen, [...ids].reverse(), 'newest first, each once');
  assert.equal((await rt.jobs.list('lister', { status: 'COMPLETED' })).items.length, 3);
  assert.equal((await rt.jobs.list('lister', { status: 'RUNNING' })).items.length, 0);

  const whole = (await rt.jobs.history('lister', ids[1], { first: 100 })).items;
  const paged: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const p = await rt.jobs.history('lister', ids[1], { first: 3, after: cursor });
    paged.push(...p.items.map((h) => `${h.seq} ${h.type} ${h.summary}`));
    if (!p.hasNextPage) break;
    cursor = p.endCursor;
  }
  assert.deepEqual(paged, whole.map((h) => `${h.seq} ${h.type} ${h.summary}`));
  assert.ok(finished((await rt.jobs.get('lister', ids[1]))!));
});

test('a slot held by a job that ended without releasing it (terminated) is reclaimed: the queued job runs', { timeout: 120_000 }, async () => {
  const capped = await c.runtime({ tenantRunningCap: 1, fill: { admissionPollMs: 300 } });
  const big = await exampleCase('t067');
  const im = await c.upload(capped.jobs, 's', big.image);
  const mk = await c.upload(capped.jobs, 's', big.mask);
  const holder = await capped.jobs.create('s', { imageId: im.id, maskId: mk.id, options: { patchSize: 9 } });
  const waiting = await capped.jobs.create('s', { imageId: im.id, maskId: mk.id });
  assert.equal(holder.status, 'RUNNING');
  assert.equal(waiting.status, 'QUEUED');
  // An operator's terminate: the job's code runs no further, so it never releases its slot.
  await capped.host.client.terminate(holder.id, 'operator');
  assert.equal((await untilDone(capped, 's', holder.id)).status, 'CANCELED');
  const done = await untilDone(capped, 's', waiting.id);
  assert.equal(done.status, 'COMPLETED');
});
