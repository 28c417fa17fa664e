// Three real kernel node processes: a fill gives the same bytes on 1 node, on 3 nodes and in
// process; every step's tile results are the same whichever nodes ran them; nodes report their
// cache hit ratio and answer the standard gRPC health check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, makeClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { blobIdOf } from '../../src/common/blob-store.ts';
import { decodeResultBatch } from '../../src/kernel/cluster/result-batch.ts';
import { CodedError } from '../../src/common/errors.ts';
import { StepMode, inpaintRemote, optionsToWire, type RemoteProgress, type ResultRef } from '../../src/kernel/client/index.ts';
import { encodeImage, inpaint, maskToBinary, prepare, resolveOptions, type TileResult } from '../../src/kernel/index.ts';
import { startTestCluster, type TestCluster } from '../support/kernel-cluster.ts';
import { discMask, texturedImage } from '../support/images.ts';
import { metricValue } from '../support/kernel-node.ts';

const image = texturedImage(192, 144);
const mask = discMask(192, 144, 86, 80, 34);
const options = { seed: 9, maxIterations: 6 };

async function stepResults(c: TestCluster, refs: readonly ResultRef[]): Promise<TileResult[]> {
  const batches = await Promise.all(refs.map(async (r) => decodeResultBatch(await c.store.get(r.blobId))));
  return batches.flat().sort((a, b) => a.tile - b.tile);
}

function healthCheck(port: number): Promise<string> {
  const Health = makeClientConstructor(healthService, 'Health');
  const client = new Health(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
    check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
    close(): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service: 'patchwork.kernel.v1.KernelService' }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

test('same bytes from 1 node, 3 nodes and in-process; same tile results per step; cache hits in metrics', { timeout: 180_000 }, async () => {
  const c = await startTestCluster(3);
  try {
    // In process: the result, and a preview of every step.
    const localPreviews = new Map<string, Promise<string>>();
    const expected = blobIdOf(
      await encodeImage(
        await inpaint(image, mask, { ...options, workers: 1 }, (p) => localPreviews.set(`${p.level}/${p.iteration}`, encodeImage(p.preview(), 'png').then(blobIdOf))),
        'png',
      ),
    );

    const steps = (into: Map<string, ResultRef[]>) => (p: RemoteProgress) => into.set(`${p.level}/${p.iteration}`, p.results);
    const one = new Map<string, ResultRef[]>();
    const three = new Map<string, ResultRef[]>();
    const remotePreviews = new Map<string, Promise<string>>();
    const run1 = await inpaintRemote(c.cluster, await c.job('single', image, mask, options), {
      maxNodes: 1,
      onProgress: (p) => {
        steps(one)(p);
        remotePreviews.set(`${p.level}/${p.iteration}`, p.preview('png').then((r) => r.id));
      },
    });
    // Small thresholds so that every level with more than one tile is split over the three nodes.
    const run3 = await inpaintRemote(c.cluster, await c.job('spread', image, mask, options), { maxNodes: 3, minShardTargets: 100, soloMaxTargets: 0, onProgress: steps(three) });

    assert.equal(run1.result.id, expected, '1 node differs from in-process');
    assert.equal(run3.result.id, expected, '3 nodes differ from in-process');
    // One node for the 1-node run, unless that node pushed back (a saturated node's call goes to
    // the least loaded one, by design): then a retry shows in the attempts.
    if (run1.usage.attempts === run1.usage.calls) assert.equal(Object.keys(run1.stepsByNode).length, 1, `1-node run stepped on ${JSON.stringify(run1.stepsByNode)}`);
    assert.equal(Object.keys(run3.stepsByNode).length, 3, `3-node run stepped on ${JSON.stringify(run3.stepsByNode)}`);

    // The plan the nodes report is the kernel's plan.
    const plan = prepare(image, maskToBinary(mask, 192, 144), null, resolveOptions(options).plan).plan;
    assert.deepEqual(
      run3.plan.levels.map((l) => [l.width, l.height, l.tileCount, l.holeCount]),
      plan.levels.map((l) => [l.width, l.height, l.tiles.length / 4, l.holeCount]),
    );
    assert.ok(plan.levels.some((l) => l.tiles.length >= 6), 'the test image should have a level with several tiles to split');

    assert.deepEqual([...three.keys()], [...one.keys()], 'both runs take the same steps');
    assert.deepEqual([...remotePreviews.keys()], [...localPreviews.keys()], 'the same steps as in process');
    for (const [step, id] of remotePreviews) assert.equal(await id, await localPreviews.get(step), `Preview of step ${step} differs from the in-process preview`);
    for (const [step, refs] of one) {
      const a = await stepResults(c, refs);
      const b = await stepResults(c, three.get(step)!);
      assert.deepEqual(b, a, `tile results of step ${step} differ between 1 and 3 nodes`);
    }

    for (const node of c.nodes) {
      const text = await node.metrics();
      const hits = metricValue(text, 'patchwork_kernel_blob_cache_hits_total');
      const misses = metricValue(text, 'patchwork_kernel_blob_cache_misses_total');
      const ratio = metricValue(text, 'patchwork_kernel_blob_cache_hit_ratio');
      assert.ok(hits > 0, `${node.id}: no cache hits`);
      assert.ok(misses >= 2, `${node.id}: it must have read the image and mask once`);
      assert.ok(Math.abs(ratio - hits / (hits + misses)) < 1e-9, `${node.id}: ratio ${ratio} is not hits/(hits+misses)`);
      assert.ok(ratio > 0.5, `${node.id}: hit ratio ${ratio} should be high (steps read results the node made or was pushed)`);
      assert.ok(metricValue(text, 'patchwork_kernel_calls_total') > 0);
      assert.equal(await healthCheck(node.port), 'SERVING');
    }
  } finally {
    await c.close();
  }
});

test('bad input gets a coded, non-retryable error and the node stays up; a job without a hole returns the photo', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(1);
  try {
    const good = await c.job('good', image, mask, options);
    const notAnImage = await c.store.put(new TextEncoder().encode('this is not a picture'));
    const call = { placementKey: 'bad-input' };
    const rejectsWith = (p: Promise<unknown>, code: string) =>
      assert.rejects(p, (e: unknown) => e instanceof CodedError && e.code === code && !e.retryable && (e.details as { attempts?: number } | undefined)?.attempts === undefined);
    await rejectsWith(c.cluster.prepare({ job: { ...good, imageBlobId: notAnImage.id } }, call), 'BAD_IMAGE');
    await rejectsWith(c.cluster.prepare({ job: { ...good, maskBlobId: 'f'.repeat(64) } }, call), 'BLOB_NOT_FOUND');
    await rejectsWith(c.cluster.prepare({ job: { ...good, maskBlobId: 'not-an-id' } }, call), 'INVALID_BLOB_ID');
    await rejectsWith(c.cluster.prepare({ job: { ...good, options: optionsToWire({ patchSize: 4 }) } }, call), 'BAD_OPTION');
    await rejectsWith(c.cluster.step({ job: good, level: 0, iteration: 3, mode: StepMode.STEP_MODE_ITERATE, previous: [], previousState: Buffer.alloc(0), tiles: [], pushResults: false, advance: false, nextTiles: [], team: undefined }, call), 'BAD_STEP');
    assert.equal(await healthCheck(c.nodes[0].port), 'SERVING');

    const blank = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 4).fill(255).map((v, i) => (i % 4 === 3 ? 255 : 0)) };
    const photo = texturedImage(40, 30);
    const run = await inpaintRemote(c.cluster, await c.job('no-hole', photo, blank), {});
    assert.equal(run.plan.holeCount, 0);
    assert.equal(run.result.id, blobIdOf(await encodeImage(await inpaint(photo, blank, { workers: 1 }), 'png')));
  } finally {
    await c.close();
  }
});
