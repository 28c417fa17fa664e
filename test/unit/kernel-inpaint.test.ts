// The in-process driver end to end, on pictures made here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inpaint, KernelError, type Progress, type RgbaImage } from '../../src/kernel/index.ts';
import { handOff, workerTiles } from '../../src/kernel/pool.ts';
import { bits, discMask, rectMask, stripes, texturedImage } from '../support/images.ts';

const W = 160;
const H = 120;

function withAlpha(img: RgbaImage): RgbaImage {
  const data = Uint8Array.from(img.data);
  for (let p = 0; p < W * H; p++) data[p * 4 + 3] = 100 + (p % 150);
  return { ...img, data };
}

test('pixels outside the hole come back bit for bit, alpha everywhere is kept', async () => {
  const img = withAlpha(texturedImage(W, H));
  const mask = discMask(W, H, 80, 60, 25);
  const hole = bits(mask);
  const out = await inpaint(img, mask, { workers: 1 });
  assert.equal(out.data.length, img.data.length);
  let filled = 0;
  for (let p = 0; p < W * H; p++) {
    assert.equal(out.data[p * 4 + 3], img.data[p * 4 + 3], `alpha at ${p}`);
    if (!hole[p]) for (let c = 0; c < 3; c++) assert.equal(out.data[p * 4 + c], img.data[p * 4 + c], `pixel ${p} outside the hole changed`);
    else if (out.data[p * 4] !== img.data[p * 4]) filled++;
  }
  assert.ok(filled > 0);
});

test('same seed, same bytes: one thread or two', async () => {
  // Big enough that its finer levels go to the worker pool (small levels run inline).
  const w = 260;
  const h = 190;
  const img = texturedImage(w, h);
  const mask = discMask(w, h, 120, 95, 50);
  const one = await inpaint(img, mask, { workers: 1, seed: 3, tileSize: 24 });
  // A worker claims tiles only if it is scheduled while some are left: on a loaded machine the
  // calling thread may run them all. Every run must give the same bytes; at least one of up to
  // five must have had a worker run tiles, or the test proves nothing about threads.
  let workerRan = false;
  for (let run = 0; run < 5 && !workerRan; run++) {
    const before = workerTiles.count;
    const two = await inpaint(img, mask, { workers: 2, seed: 3, tileSize: 24 });
    workerRan = workerTiles.count > before;
    assert.deepEqual(two.data, one.data);
  }
  assert.ok(workerRan, 'a worker thread ran tiles in one of five two-thread fills');
  const again = await inpaint(img, mask, { workers: 3, seed: 3, tileSize: 24 });
  assert.deepEqual(again.data, one.data);
  const other = await inpaint(img, mask, { workers: 1, seed: 4, tileSize: 24 });
  assert.notDeepEqual(other.data, one.data);
});

test('polling and sleeping hand-offs between runs give the same bytes', async () => {
  // With polling, a worker takes its next runs (and the next level's data) from its port in a
  // loop (worker.ts, pollPort) instead of through its event loop: a message lost or handled twice
  // there would change the bytes or hang the fill.
  const w = 260;
  const h = 190;
  const img = texturedImage(w, h);
  const mask = discMask(w, h, 120, 95, 50);
  const one = await inpaint(img, mask, { workers: 1, seed: 5, tileSize: 24 });
  const saved = { ...handOff };
  try {
    let workerRan = false;
    for (let run = 0; run < 5 && !workerRan; run++) {
      Object.assign(handOff, { workerPollMs: 0, mainSpinMs: 0 });
      assert.deepEqual((await inpaint(img, mask, { workers: 2, seed: 5, tileSize: 24 })).data, one.data);
      Object.assign(handOff, { workerPollMs: 50, mainSpinMs: 3 });
      const before = workerTiles.count;
      assert.deepEqual((await inpaint(img, mask, { workers: 2, seed: 5, tileSize: 24 })).data, one.data);
      workerRan = workerTiles.count > before;
    }
    assert.ok(workerRan, 'a polling worker ran tiles in one of five fills');
  } finally {
    Object.assign(handOff, saved);
  }
});

test('a hole in stripes is filled with stripes in phase (the fill is not a blur)', async () => {
  const img = stripes(W, H, 8);
  const mask = rectMask(W, H, 60, 40, 90, 80);
  const out = await inpaint(img, mask, { workers: 1 });
  const hole = bits(mask);
  let wrong = 0;
  let n = 0;
  for (let p = 0; p < W * H; p++) {
    if (!hole[p]) continue;
    n++;
    if (Math.abs(out.data[p * 4] - img.data[p * 4]) > 20) wrong++;
  }
  assert.ok(wrong / n < 0.02, `${wrong} of ${n} hole pixels off the stripes`);
});

test('progress: after every iteration, fraction rising to 1, full-size previews', async () => {
  const img = texturedImage(W, H);
  const mask = discMask(W, H, 80, 60, 20);
  const seen: Progress[] = [];
  const out = await inpaint(img, mask, { workers: 1 }, (p) => seen.push(p));
  assert.ok(seen.length >= 3);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].fraction >= seen[i - 1].fraction, 'fraction never falls');
  assert.equal(seen[seen.length - 1].fraction, 1);
  assert.equal(seen[seen.length - 1].level, 0);
  assert.equal(seen[0].level, seen[0].levels - 1, 'coarse to fine');
  const hole = bits(mask);
  for (const p of [seen[0], seen[seen.length - 1]]) {
    const pic = p.preview();
    assert.deepEqual([pic.width, pic.height], [W, H]);
    for (let i = 0; i < W * H; i++) if (!hole[i]) assert.equal(pic.data[i * 4], img.data[i * 4]);
  }
  assert.equal(out.width, W);
});

test('an empty mask returns the input unchanged', async () => {
  const img = texturedImage(W, H);
  const out = await inpaint(img, rectMask(W, H, 0, 0, 0, 0));
  assert.deepEqual(out.data, img.data);
  assert.notEqual(out.data, img.data, 'a copy, not the caller buffer');
});

test('bad inputs give KernelErrors with codes', async () => {
  const img = texturedImage(W, H);
  const code = (c: string) => (e: unknown) => e instanceof KernelError && e.code === c && e.message.length > 10;
  await assert.rejects(inpaint(img, rectMask(W + 1, H, 0, 0, 5, 5)), code('BAD_MASK_SIZE'));
  await assert.rejects(inpaint(img, rectMask(W, H, 0, 0, W, H)), code('EMPTY_SOURCE'));
  await assert.rejects(inpaint(img, rectMask(W, H, 5, 5, 9, 9), { patchSize: 8 }), (e: unknown) => code('BAD_OPTION')(e) && /odd/.test((e as Error).message));
  await assert.rejects(inpaint(img, rectMask(W, H, 5, 5, 9, 9), { patchSize: 301 }), code('BAD_OPTION'));
  await assert.rejects(inpaint(img, rectMask(W, H, 5, 5, 9, 9), { distance: 'cie94' as 'cie76' }), code('BAD_OPTION'));
  await assert.rejects(inpaint(img, rectMask(W, H, 5, 5, 9, 9), { bogus: 1 } as object), code('BAD_OPTION'));
  await assert.rejects(inpaint({ width: 2, height: 2, data: new Uint8Array(3) }, rectMask(2, 2, 0, 0, 1, 1)), code('BAD_IMAGE'));
});

test('CIEDE2000 distance runs and keeps outside pixels', async () => {
  const img = texturedImage(80, 60);
  const mask = discMask(80, 60, 40, 30, 8);
  const out = await inpaint(img, mask, { workers: 1, distance: 'cie2000' });
  const hole = bits(mask);
  for (let p = 0; p < 80 * 60; p++) if (!hole[p]) assert.equal(out.data[p * 4 + 1], img.data[p * 4 + 1]);
});
