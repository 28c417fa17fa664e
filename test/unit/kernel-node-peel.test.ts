// A kernel node's worker threads help its main thread peel the top level (team runs' member 0,
// src/kernel/node/team-start.ts): the peel is offered to the pool's workers and gives the same
// bytes as the main thread peeling alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initTopLevel } from '../../src/kernel/init-level.ts';
import { maskToBinary } from '../../src/kernel/mask.ts';
import { resolveOptions } from '../../src/kernel/options.ts';
import { helperPeel, type PeelJob } from '../../src/kernel/peel.ts';
import { toShared } from '../../src/kernel/shared-memory.ts';
import { WorkerPool } from '../../src/kernel/node/worker-pool.ts';
import { discMask, texturedImage } from '../support/images.ts';

test('the node pool\'s workers join a top-level peel: same initial state as one thread', async () => {
  const pool = new WorkerPool(2);
  try {
    const photo = texturedImage(512, 384);
    const hole = maskToBinary(discMask(512, 384, 250, 190, 70), 512, 384);
    const options = resolveOptions({ seed: 5 }).plan;
    const { prepared } = await pool.prepare({ ...photo, data: toShared(photo.data, true) }, hole, null, options);
    const top = prepared.levels[prepared.levels.length - 1];
    const alone = initTopLevel(top, options);
    const offered: PeelJob[] = [];
    const shared = initTopLevel(top, options, (job) => {
      offered.push(job);
      pool.sharePeel(job);
    });
    assert.equal(offered.length, 1, `the peel was offered to the workers (top level ${top.width}x${top.height}, ${top.holePixels.length} hole pixels)`);
    assert.deepEqual(Array.from(shared.values), Array.from(alone.values));
    assert.deepEqual(Array.from(shared.nnf), Array.from(alone.nnf));
    assert.deepEqual(Array.from(shared.dist), Array.from(alone.dist));
    // What the workers peeled is counted, time included: a node bills it into the call's kernel ms.
    const helped = helperPeel(offered[0]);
    assert.ok(helped.pixels <= top.holePixels.length);
    assert.equal(helped.ms > 0, helped.pixels > 0, `helpers peeled ${helped.pixels} pixels in ${helped.ms} ms`);
  } finally {
    await pool.close();
  }
});
