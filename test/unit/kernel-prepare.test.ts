import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knownLab } from '../../src/kernel/color.ts';
import { downscale, halfSize } from '../../src/kernel/pyramid.ts';
import { holeIndexAt, KernelError, maskToBinary, patchRadius, prepare, resolveOptions } from '../../src/kernel/index.ts';
import { discMask, rectMask, texturedImage } from '../support/images.ts';

const { plan: options } = resolveOptions({});
const r = options.patchSize >> 1;

test('pyramid levels halve, rounding up, until the hole is small or the image too small', () => {
  const img = texturedImage(200, 130);
  const hole = maskToBinary(discMask(200, 130, 100, 65, 30), 200, 130);
  const { plan } = prepare(img, hole, null, options);
  assert.ok(plan.levels.length >= 3, `levels ${plan.levels.length}`);
  plan.levels.forEach((l, i) => {
    assert.equal(l.level, i);
    if (i > 0) {
      assert.equal(l.width, halfSize(plan.levels[i - 1].width));
      assert.equal(l.height, halfSize(plan.levels[i - 1].height));
    }
  });
  assert.deepEqual([plan.levels[0].width, plan.levels[0].height], [200, 130]);
  assert.equal(halfSize(7), 4);
  // A thin hole needs no pyramid at all.
  const thin = maskToBinary(rectMask(200, 130, 50, 60, 150, 63), 200, 130);
  assert.equal(prepare(img, thin, null, options).plan.levels.length, 1);
});

test('downscaling: a coarse pixel is hole if any child is; known pixels average their children', () => {
  const lab = Float32Array.from({ length: 4 * 2 * 3 }, (_, i) => i);
  const hole = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0]);
  const c = downscale({ width: 4, height: 2, lab, hole, donor: null });
  assert.deepEqual([c.width, c.height], [2, 1]);
  assert.deepEqual([...c.hole], [0, 1]);
  // Pixel (0,0) averages fine pixels 0, 1, 4, 5 -> channel 0: (0 + 3 + 12 + 15) / 4.
  assert.equal(c.lab[0], 7.5);
  assert.deepEqual([...c.lab.subarray(3, 6)], [0, 0, 0]);
});

test('static data: targets are exactly the patches touching the hole; sources never touch it', () => {
  const w = 90;
  const h = 70;
  const hole = maskToBinary(discMask(w, h, 40, 30, 12), w, h);
  const { levels } = prepare(texturedImage(w, h), hole, null, options);
  for (const s of levels) {
    const holeAt = (x: number, y: number): boolean => holeIndexAt(s, y * s.width + x) >= 0;
    // Coarse levels use patches of at most COARSE_PATCH_SIZE (options.ts).
    const r = patchRadius(options, s.level);
    for (let y = 0; y < s.height; y++) {
      for (let x = 0; x < s.width; x++) {
        let touches = false;
        let inside = x >= r && y >= r && x < s.width - r && y < s.height - r;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const xx = x + dx;
            const yy = y + dy;
            if (xx < 0 || yy < 0 || xx >= s.width || yy >= s.height) continue;
            if (holeAt(xx, yy)) touches = true;
          }
        }
        if (touches) inside = false;
        assert.equal(s.targetIndex[y * s.width + x] >= 0, touches, `target at ${x},${y} level ${s.level}`);
        assert.equal(s.validSource[y * s.width + x] === 1, inside, `source at ${x},${y} level ${s.level}`);
      }
    }
  }
});

test('tiles own contiguous ranges of hole and target indices, in raster order inside a tile', () => {
  const w = 150;
  const h = 100;
  const hole = maskToBinary(discMask(w, h, 75, 50, 30), w, h);
  const { levels } = prepare(texturedImage(w, h), hole, null, { ...options, tileSize: 32 });
  const s = levels[0];
  const tiles = s.tiles.length >> 2;
  assert.ok(tiles > 4, `tiles ${tiles}`);
  assert.equal(s.tileHoleStart[tiles], s.holePixels.length);
  assert.equal(s.tileTargetStart[tiles], s.targetPixels.length);
  for (let k = 0; k < tiles; k++) {
    const [x0, y0, x1, y1] = s.tiles.subarray(4 * k, 4 * k + 4);
    assert.ok(x1 - x0 <= 32 && y1 - y0 <= 32);
    for (let t = s.tileTargetStart[k]; t < s.tileTargetStart[k + 1]; t++) {
      const p = s.targetPixels[t];
      const x = p % w;
      const y = (p - x) / w;
      assert.ok(x >= x0 && x < x1 && y >= y0 && y < y1, `target ${t} outside its tile`);
      if (t > s.tileTargetStart[k]) assert.ok(p > s.targetPixels[t - 1], 'raster order');
      assert.equal(s.targetIndex[p], t);
    }
  }
});

test('donor masks restrict sources to patches wholly inside the donor area', () => {
  const w = 80;
  const h = 60;
  const hole = maskToBinary(rectMask(w, h, 30, 20, 45, 35), w, h);
  const donor = maskToBinary(rectMask(w, h, 0, 0, 25, 60), w, h);
  const { levels } = prepare(texturedImage(w, h), hole, donor, options);
  const s = levels[0];
  assert.ok(s.sourceCount > 0);
  for (let p = 0; p < w * h; p++) {
    if (!s.validSource[p]) continue;
    const x = p % w;
    assert.ok(x + r < 25, `source centre x ${x} lets its patch leave the donor area`);
  }
});

test('no source left is EMPTY_SOURCE, with a hint', () => {
  const w = 40;
  const h = 30;
  const all = new Uint8Array(w * h).fill(1);
  assert.throws(() => prepare(texturedImage(w, h), all, null, options), (e: unknown) => e instanceof KernelError && e.code === 'EMPTY_SOURCE' && /whole image/.test(e.message));
  // Holes every 5 pixels leave no 7x7 patch free.
  const grid = new Uint8Array(w * h);
  for (let y = 0; y < h; y += 5) for (let x = 0; x < w; x++) grid[y * w + x] = 1;
  assert.throws(() => prepare(texturedImage(w, h), grid, null, options), (e: unknown) => e instanceof KernelError && e.code === 'EMPTY_SOURCE' && /patch size/.test(e.message));
});

test('maxIterations below the default minimum lowers the minimum; both given in conflict is BAD_OPTION', () => {
  assert.deepEqual([resolveOptions({ maxIterations: 1 }).plan.minIterations, resolveOptions({ maxIterations: 1 }).plan.maxIterations], [1, 1]);
  assert.equal(resolveOptions({ maxIterations: 5 }).plan.minIterations, 2);
  assert.throws(() => resolveOptions({ maxIterations: 1, minIterations: 2 }), (e: unknown) => e instanceof KernelError && e.code === 'BAD_OPTION');
  assert.throws(() => resolveOptions({ maxIterations: 0 }), (e: unknown) => e instanceof KernelError && e.code === 'BAD_OPTION');
});

test('a Lab converted in two ranges from copies (as the pool splits it) is the Lab prepare computes', () => {
  const w = 90;
  const h = 70;
  const img = texturedImage(w, h);
  const hole = maskToBinary(discMask(w, h, 45, 35, 12), w, h);
  const n = w * h;
  const mid = 33 * w;
  const lab = new Float32Array(n * 3);
  knownLab(img.data, hole, 0, 0, mid, lab);
  knownLab(img.data.slice(mid * 4), hole.slice(mid), mid, mid, n, lab);
  const own = prepare(img, hole, null, options);
  const given = prepare(img, hole, null, options, { lab });
  assert.deepEqual(given.levels[0].lab, own.levels[0].lab);
  for (let p = 0; p < n; p++) if (hole[p]) assert.equal(lab[p * 3], 0);
  assert.deepEqual(given.plan, own.plan);
  assert.throws(() => prepare(img, hole, null, options, { lab: new Float32Array(3) }), (e: unknown) => e instanceof KernelError && e.code === 'BAD_DATA');
});
