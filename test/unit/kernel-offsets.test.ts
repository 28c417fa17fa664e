// Offset statistics (offsets.ts; He and Sun 2012): on a picture that repeats with a known period
// the dominant offsets are that period's lattice vectors; they are the same for the same seed;
// scaling between levels doubles, halves, drops repeats and what no patch fits; prepare gives
// them to the levels that search them; fills using them give the same bytes on one thread or two.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dominantOffsets, runOffsetTask, OFFSET_COUNT, OFFSET_FROM_LEVEL, offsetConfidence, OFFSET_MIN_DEPTH, offsetLevel, scaleOffsets, usesOffsets } from '../../src/kernel/offsets.ts';
import { inpaint, maskToBinary, prepare, resolveOptions } from '../../src/kernel/index.ts';
import { poolExecutor, workerOffsets, workerTiles } from '../../src/kernel/pool.ts';
import { offsetTask } from '../../src/kernel/prepare.ts';
import type { RgbaImage } from '../../src/kernel/types.ts';
import { discMask } from '../support/images.ts';

/** A seeded random tile of px x py pixels repeated over the picture: it repeats under (px, 0) and (0, py) only. */
function periodicRgba(width: number, height: number, px: number, py: number, seed = 5): RgbaImage {
  let s = seed;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % 256;
  };
  const tile = Array.from({ length: px * py * 3 }, next);
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const t = ((y % py) * px + (x % px)) * 3;
      data.set([tile[t], tile[t + 1], tile[t + 2], 255], o);
    }
  }
  return { width, height, data };
}

/** Lab-like values straight from the RGB bytes (the statistics only compare them). */
function labOf(img: RgbaImage): Float32Array {
  const lab = new Float32Array(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) for (let c = 0; c < 3; c++) lab[p * 3 + c] = img.data[p * 4 + c] / 2.55;
  return lab;
}

/** Valid sources of radius r: every whole patch inside the picture (no hole). */
function allSources(width: number, height: number, r: number): Uint8Array {
  const v = new Uint8Array(width * height);
  for (let y = r; y < height - r; y++) for (let x = r; x < width - r; x++) v[y * width + x] = 1;
  return v;
}

const pairs = (o: Int32Array): [number, number][] => Array.from({ length: o.length / 2 }, (_, k) => [o[2 * k], o[2 * k + 1]]);

test('a periodic picture: the strongest offsets are lattice vectors of its period, both directions', () => {
  const w = 96;
  const h = 80;
  const img = periodicRgba(w, h, 11, 9);
  const found = pairs(dominantOffsets(labOf(img), allSources(w, h, 3), w, h, 3, 1, 2));
  assert.ok(found.length >= 4 && found.length <= OFFSET_COUNT, `${found.length} offsets`);
  // Every patch has exact copies only at lattice vectors, so the peaks the matches pile up on are those.
  for (const [dx, dy] of found.slice(0, 4)) assert.ok(dx % 11 === 0 && dy % 9 === 0, `(${dx}, ${dy}) is not a multiple of the period (11, 9)`);
  // Matches must be at least max(patch, side / 15) = 7 away on some axis, so the nearest copies
  // are the period itself: (±11, 0) and (0, ±9) are among the peaks.
  const has = (dx: number, dy: number): boolean => found.some(([a, b]) => a === dx && b === dy);
  assert.ok(has(11, 0) || has(-11, 0), `no horizontal period in ${JSON.stringify(found)}`);
  assert.ok(has(0, 9) || has(0, -9), `no vertical period in ${JSON.stringify(found)}`);
});

test('the same seed gives the same offsets; they do not depend on anything else run before', () => {
  const w = 90;
  const h = 70;
  const lab = labOf(periodicRgba(w, h, 13, 10, 9));
  const valid = allSources(w, h, 3);
  const a = dominantOffsets(lab, valid, w, h, 3, 7, 2);
  dominantOffsets(lab, valid, w, h, 3, 8, 2);
  const b = dominantOffsets(lab, valid, w, h, 3, 7, 2);
  assert.deepEqual(b, a);
  assert.ok(a.length > 0);
});

test('a level without two valid sources has no offsets', () => {
  const w = 40;
  const h = 30;
  assert.equal(dominantOffsets(new Float32Array(w * h * 3), new Uint8Array(w * h), w, h, 3, 1, 2).length, 0);
});

test('scaling offsets between levels: doubled finer, halved (rounded) coarser, no repeats, only what fits', () => {
  const offs = Int32Array.from([9, 0, -9, 0, 8, 1, 1, 0, 40, 0, 3, -5]);
  // Finer by one level: doubled; (40, 0) -> (80, 0) still fits a 90-wide level with radius 4 (at most 81).
  assert.deepEqual(pairs(scaleOffsets(offs, 1, 90, 60, 4)), [[18, 0], [-18, 0], [16, 2], [2, 0], [80, 0], [6, -10]]);
  // Coarser by two levels: /4 rounded to nearest (half away from 0); (9,0) and (8,1) both become (2, 0), kept once;
  // (1, 0) becomes (0, 0), dropped; (40, 0) -> (10, 0) does not fit a 14-wide level with radius 3 (max 7).
  assert.deepEqual(pairs(scaleOffsets(offs, -2, 14, 12, 3)), [[2, 0], [-2, 0], [1, -1]]);
  assert.deepEqual(pairs(scaleOffsets(offs, 0, 90, 60, 3)), pairs(offs));
});

test('prepare: the levels that search offsets get them (the reference level is the finest at most 128 wide)', () => {
  const w = 260;
  const h = 190;
  const img = periodicRgba(w, h, 12, 10);
  const hole = maskToBinary(discMask(w, h, 130, 95, 50), w, h);
  const options = resolveOptions({ seed: 2 }).plan;
  const { levels } = prepare(img, hole, null, options);
  assert.ok(levels.length > OFFSET_FROM_LEVEL, `only ${levels.length} levels`);
  const ref = offsetLevel(levels);
  assert.ok(Math.max(levels[ref].width, levels[ref].height) <= 128 && (ref === 0 || Math.max(levels[ref - 1].width, levels[ref - 1].height) > 128));
  for (const s of levels) {
    if (!usesOffsets(s.level, ref)) assert.equal(s.offsets.length, 0, `level ${s.level}`);
    else assert.ok(s.offsets.length > 0, `level ${s.level} has no offsets`);
  }
  // Prepared again: the same offsets (every kernel node prepares the same levels).
  const again = prepare(img, hole, null, options).levels;
  for (const s of levels) assert.deepEqual(again[s.level].offsets, s.offsets);
  // The depth gate on the (float32) confidence: a target centred 2 deep tries them, one √2 deep
  // (the next chamfer step below) does not.
  const c = offsetConfidence(options.confidenceBase);
  assert.equal(OFFSET_MIN_DEPTH, 2);
  assert.ok(Math.fround(options.confidenceBase ** -2) <= c);
  assert.ok(Math.fround(options.confidenceBase ** -Math.SQRT2) > c);
});

test('a fill searching the offsets gives the same bytes on one thread or two', async () => {
  const w = 260;
  const h = 190;
  const img = periodicRgba(w, h, 12, 10, 3);
  const mask = discMask(w, h, 120, 95, 50);
  const one = await inpaint(img, mask, { workers: 1, seed: 5, tileSize: 24 });
  // With two threads the offsets are taken on the worker (once it is ready: the first fill of a
  // process may take them itself) while the calling thread peels the top level.
  let workerRan = false;
  let offsetsOnWorker = false;
  for (let run = 0; run < 5 && !(workerRan && offsetsOnWorker); run++) {
    const before = workerTiles.count;
    const offsetsBefore = workerOffsets.count;
    const two = await inpaint(img, mask, { workers: 2, seed: 5, tileSize: 24 });
    workerRan ||= workerTiles.count > before;
    offsetsOnWorker ||= workerOffsets.count > offsetsBefore;
    assert.deepEqual(two.data, one.data);
  }
  assert.ok(workerRan, 'a worker thread ran tiles in one of five two-thread fills');
  assert.ok(offsetsOnWorker, 'a worker thread took the offsets in one of five two-thread fills');
});

test('offsets taken on a worker thread are those taken on the calling thread', async () => {
  const w = 260;
  const h = 190;
  const hole = maskToBinary(discMask(w, h, 130, 95, 50), w, h);
  const options = resolveOptions({ seed: 6 }).plan;
  const { levels } = prepare(periodicRgba(w, h, 12, 10, 7), hole, null, options, { shared: true, offsets: false });
  for (const s of levels) assert.equal(s.offsets.length, 0, 'prepare took offsets though told not to');
  const task = offsetTask(levels, options);
  assert.ok(task);
  const executor = poolExecutor(1);
  try {
    // The worker starts in the background: until it is ready there is none to take them.
    let pending = executor.offsets(task);
    for (let k = 0; k < 200 && !pending; k++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      pending = executor.offsets(task);
    }
    assert.ok(pending, 'no worker became ready in 5 s');
    const found = await pending;
    assert.ok(found.length > 0);
    assert.deepEqual(found, runOffsetTask(task));
  } finally {
    await executor.close();
  }
});
