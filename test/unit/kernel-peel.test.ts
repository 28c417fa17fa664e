// The top level's onion peel (peel.ts): its rings are the hole's onion layers, found from the
// geometry alone; a peel shared with a worker thread gives the same values and matches as one
// thread alone (the exhaustive search does not depend on who peeled a ring's other pixels).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initTopLevel, maskToBinary, prepare, resolveOptions } from '../../src/kernel/index.ts';
import { peelRings, SHARED_PEEL_PIXELS, type PeelJob } from '../../src/kernel/peel.ts';
import { poolExecutor, workerPeel } from '../../src/kernel/pool.ts';
import type { LevelStatic } from '../../src/kernel/types.ts';
import { discMask, texturedImage } from '../support/images.ts';

function topLevel(shared: boolean): LevelStatic {
  const w = 240;
  const h = 180;
  const options = resolveOptions({ seed: 3 }).plan;
  const hole = maskToBinary(discMask(w, h, 120, 90, 40), w, h);
  const { levels } = prepare(texturedImage(w, h, 11), hole, null, options, { shared });
  return levels[levels.length - 1];
}

test('peel rings: each ring is the hole pixels left that touch a known pixel or an earlier ring', () => {
  const s = topLevel(false);
  const { order, ringStart, ringOf } = peelRings(s);
  const { width, height, holePixels } = s;
  assert.equal(order.length, holePixels.length, 'every hole pixel is reached');
  assert.ok(ringStart.length > 2, `only ${ringStart.length - 1} rings`);
  for (let k = 0; k + 1 < ringStart.length; k++) {
    for (let i = ringStart[k]; i < ringStart[k + 1]; i++) {
      if (i > ringStart[k]) assert.ok(order[i] > order[i - 1], 'hole-index order within a ring');
      const p = holePixels[order[i]];
      assert.equal(ringOf[p], k);
      const x = p % width;
      const y = (p - x) / width;
      let earliest = Infinity;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < width && yy < height) earliest = Math.min(earliest, ringOf[yy * width + xx]);
        }
      }
      // Touches ring k - 1 (or a known pixel, -1, for ring 0), nothing earlier: else it would be in an earlier ring.
      assert.equal(earliest, k - 1, `pixel ${p} of ring ${k}`);
    }
  }
});

test('a peel shared with a worker thread gives the bytes of one thread', async () => {
  const options = resolveOptions({ seed: 3 }).plan;
  const alone = initTopLevel(topLevel(false), options);
  const s = topLevel(true);
  assert.ok(s.sourceCount <= 4000 && s.holePixels.length >= SHARED_PEEL_PIXELS, 'the test level must be one the peel shares');
  const executor = poolExecutor(1);
  try {
    let share = executor.sharePeel();
    for (let k = 0; k < 200 && !share; k++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      share = executor.sharePeel();
    }
    assert.ok(share, 'no worker became ready in 5 s');
    const before = workerPeel.pixels;
    let offered = 0;
    const shared = initTopLevel(s, options, (job: PeelJob) => {
      offered++;
      share(job);
      // Hold the calling thread back until the worker has claimed a pixel, so it surely takes part.
      const t0 = Date.now();
      while (Atomics.load(job.ctrl, 0) === 0 && Date.now() - t0 < 5000);
    });
    assert.equal(offered, 1);
    assert.deepEqual(shared.values, alone.values);
    assert.deepEqual(shared.nnf, alone.nnf);
    // The worker's count arrives by message after the peel.
    for (let k = 0; k < 200 && workerPeel.pixels === before; k++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(workerPeel.pixels > before, 'the worker peeled no pixel');
  } finally {
    await executor.close();
  }
});
