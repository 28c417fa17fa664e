// Small holes (spots, strokes, wires) search more on the fine levels (small-holes.ts,
// SMALL_SEARCH_ROUNDS): which target patches count as small is geometry alone, and the fill
// stays the same bytes on one thread or two.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inpaint, maskToBinary, patchRadius, prepare, resolveOptions, type LevelStatic, type PlanOptions } from '../../src/kernel/index.ts';
import { workerTiles } from '../../src/kernel/pool.ts';
import { SMALL_HOLE_AREA, smallTargets } from '../../src/kernel/small-holes.ts';
import { bits, discMask, texturedImage, unionMask } from '../support/images.ts';

const W = 200;
const H = 150;
// A removed object (a disc of ~3,800 px, over SMALL_HOLE_AREA) and two spots (~80 px each).
const big = discMask(W, H, 60, 75, 35);
const spots = unionMask(discMask(W, H, 150, 30, 5), discMask(W, H, 160, 115, 5));

/** Per target of `s`: 1 when every hole pixel its patch covers is in `small` (level-0 bitmap), from the definitions alone. */
function expected(s: LevelStatic, options: PlanOptions, hole: Uint8Array, small: Uint8Array): Uint8Array {
  const r = patchRadius(options, s.level);
  return Uint8Array.from(s.targetPixels, (p) => {
    const x = p % s.width;
    const y = (p - x) / s.width;
    let all = 1;
    for (let yy = Math.max(0, y - r); yy <= Math.min(s.height - 1, y + r); yy++) {
      for (let xx = Math.max(0, x - r); xx <= Math.min(s.width - 1, x + r); xx++) if (hole[yy * s.width + xx] && !small[yy * s.width + xx]) all = 0;
    }
    return all;
  });
}

test('small targets: patches covering only spots count, patches touching the removed object do not', () => {
  assert.ok(bits(big).reduce((a, v) => a + v, 0) > SMALL_HOLE_AREA, 'the disc is a big hole');
  const { plan: options } = resolveOptions({});
  const hole = bits(unionMask(big, spots));
  const { levels } = prepare(texturedImage(W, H), hole, null, options);
  const s = levels[0];
  const marks = smallTargets(s, options);
  assert.equal(marks.length, s.targetPixels.length);
  assert.deepEqual(marks, expected(s, options, hole, bits(spots)));
  // The spots' targets: a (2r + 11)-wide square around each spot, give or take the disc's shape.
  const count = marks.reduce((a, v) => a + v, 0);
  assert.ok(count > 2 * 15 * 15 && count < 2 * 21 * 21, `${count} small targets`);
  // Cached: the same array for the same level.
  assert.equal(smallTargets(s, options), marks);
});

test('small targets: none when the hole is one object, and a level counts its own pixels (area / 4^level)', () => {
  const { plan: options } = resolveOptions({});
  const alone = prepare(texturedImage(W, H), maskToBinary(big, W, H), null, options);
  for (const s of alone.levels) assert.equal(smallTargets(s, options).reduce((a, v) => a + v, 0), 0, `level ${s.level}`);
  // A 50 x 40 hole (2,000 px) is small at full size, and its 25 x 20 (500 px, at most 625 =
  // SMALL_HOLE_AREA / 4) on level 1 too.
  const square = new Uint8Array(W * H);
  for (let y = 40; y < 80; y++) for (let x = 40; x < 90; x++) square[y * W + x] = 1;
  const { levels } = prepare(texturedImage(W, H), square, null, options);
  assert.ok(levels.length > 1);
  assert.ok(smallTargets(levels[0], options).every((v) => v === 1), 'a 2,000 px hole is small at full size');
  assert.ok(levels[1].holePixels.length <= SMALL_HOLE_AREA / 4);
  assert.ok(smallTargets(levels[1], options).every((v) => v === 1), 'and on level 1');
});

test('a fill with spots and an object: same seed same bytes on one thread or two, another seed other bytes', async () => {
  const w = 260;
  const h = 190;
  const img = texturedImage(w, h);
  const mask = unionMask(discMask(w, h, 120, 95, 50), discMask(w, h, 30, 30, 6), discMask(w, h, 220, 160, 8), discMask(w, h, 230, 40, 4));
  const options = { seed: 3, tileSize: 24 };
  const { plan } = resolveOptions(options);
  const s0 = prepare(img, maskToBinary(mask, w, h), null, plan).levels[0];
  assert.ok(smallTargets(s0, plan).includes(1) && smallTargets(s0, plan).includes(0), 'the fill has small and big targets');
  const one = await inpaint(img, mask, { ...options, workers: 1 });
  let workerRan = false;
  for (let run = 0; run < 5 && !workerRan; run++) {
    const before = workerTiles.count;
    const two = await inpaint(img, mask, { ...options, workers: 2 });
    workerRan = workerTiles.count > before;
    assert.deepEqual(two.data, one.data);
  }
  assert.ok(workerRan, 'a worker thread ran tiles in one of five two-thread fills');
  assert.deepEqual((await inpaint(img, mask, { ...options, workers: 1 })).data, one.data);
  assert.notDeepEqual((await inpaint(img, mask, { ...options, seed: 4, workers: 1 })).data, one.data);
});
