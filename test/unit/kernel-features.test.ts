// Texture features (features.ts) and the patch distance that uses them (patch-distance.ts): the
// values against sums done by hand, hole pixels left out of the static features, the window
// features equal to the static ones where nothing is missing, and the combined distance equal to
// colour plus weighted feature differences.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FEATURE_BOX, FEATURE_FROM_LEVEL, FEATURE_QUANT, featureWeight, staticFeatures, windowFeatures } from '../../src/kernel/features.ts';
import { ssd76, ssd76Feat, ssdFeat } from '../../src/kernel/patch-distance.ts';
import { maskToBinary, prepare, resolveOptions } from '../../src/kernel/index.ts';
import { decodeLevelStatic, encodeLevelStatic } from '../../src/kernel/codec.ts';
import { discMask, texturedImage } from '../support/images.ts';

/** A Lab image whose L is `l(x, y)` (a and b vary too, and must not matter). */
function labOf(width: number, height: number, l: (x: number, y: number) => number): Float32Array {
  const lab = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      lab[p * 3] = l(x, y);
      lab[p * 3 + 1] = (x * 7 + y * 3) % 11;
      lab[p * 3 + 2] = (x * 5 + y * 13) % 17;
    }
  }
  return lab;
}

/** The definition in features.ts, done the slow way: mean over valid pairs in the box. */
function slowFeature(lab: Float32Array, hole: Uint8Array, width: number, height: number, x: number, y: number): [number, number] {
  let sx = 0;
  let nx = 0;
  let sy = 0;
  let ny = 0;
  for (let yy = y - FEATURE_BOX; yy <= y + FEATURE_BOX; yy++) {
    for (let xx = x - FEATURE_BOX; xx <= x + FEATURE_BOX; xx++) {
      if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
      const p = yy * width + xx;
      if (hole[p]) continue;
      if (xx + 1 < width && !hole[p + 1]) {
        sx += Math.abs(lab[(p + 1) * 3] - lab[p * 3]);
        nx++;
      }
      if (yy + 1 < height && !hole[p + width]) {
        sy += Math.abs(lab[(p + width) * 3] - lab[p * 3]);
        ny++;
      }
    }
  }
  const q = (v: number): number => Math.min(255, Math.round(v * FEATURE_QUANT));
  return [nx > 0 ? q(sx / nx) : 0, ny > 0 ? q(sy / ny) : 0];
}

test('static features: the mean absolute L gradients over the box, quantised; flat is 0, a ramp its slope', () => {
  const w = 9;
  const h = 7;
  const none = new Uint8Array(w * h);
  const feat = new Uint8Array(w * h * 2);
  // A horizontal ramp of 3 ΔL a pixel: |∂L/∂x| = 3 everywhere, |∂L/∂y| = 0.
  staticFeatures(labOf(w, h, (x) => 3 * x), none, w, h, feat);
  for (let p = 0; p < w * h; p++) {
    assert.equal(feat[2 * p], 3 * FEATURE_QUANT, `pixel ${p} x`);
    assert.equal(feat[2 * p + 1], 0, `pixel ${p} y`);
  }
  // A flat image has no texture.
  staticFeatures(labOf(w, h, () => 50), none, w, h, feat);
  assert.ok(feat.every((v) => v === 0));
  // A checkerboard of ±10: every pair differs by 20 (large values clamp at 255).
  staticFeatures(labOf(w, h, (x, y) => ((x + y) & 1 ? 60 : 40)), none, w, h, feat);
  assert.ok(feat.every((v) => v === Math.min(255, 20 * FEATURE_QUANT)));
});

test('static features leave out pairs touching the hole, whatever the hole holds', () => {
  const w = 12;
  const h = 10;
  const lab = labOf(w, h, (x, y) => (x * x + 3 * y) % 37);
  const hole = new Uint8Array(w * h);
  for (let y = 3; y < 6; y++) for (let x = 4; x < 8; x++) hole[y * w + x] = 1;
  const a = new Uint8Array(w * h * 2);
  staticFeatures(lab, hole, w, h, a);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      assert.deepEqual([a[2 * p], a[2 * p + 1]], slowFeature(lab, hole, w, h, x, y), `pixel ${x},${y}`);
    }
  }
  // Garbage in the hole changes nothing.
  const dirty = lab.slice();
  for (let p = 0; p < w * h; p++) if (hole[p]) dirty[p * 3] = 1000 * Math.sin(p);
  const b = new Uint8Array(w * h * 2);
  staticFeatures(dirty, hole, w, h, b);
  assert.deepEqual(b, a);
});

test('window features equal the static ones where no pixel is missing, also at the image border', () => {
  const w = 15;
  const h = 11;
  const lab = labOf(w, h, (x, y) => (x * 13 + y * y * 5) % 41);
  const stat = new Uint8Array(w * h * 2);
  staticFeatures(lab, new Uint8Array(w * h), w, h, stat);
  // A window holding the rect 2..15 × 1..11 of the image (its right and bottom edges are the image's).
  const wx0 = 2;
  const wy0 = 1;
  const ww = w - wx0;
  const wh = h - wy0;
  const win = new Float32Array(ww * wh * 3);
  for (let y = 0; y < wh; y++) for (let x = 0; x < ww; x++) win.set(lab.subarray(((y + wy0) * w + x + wx0) * 3, ((y + wy0) * w + x + wx0) * 3 + 3), (y * ww + x) * 3);
  const wfeat = new Float32Array(ww * wh * 2).fill(-1);
  // Features of the rect 4..15 × 3..11: they read up to FEATURE_REACH beyond it, inside the window.
  windowFeatures(win, wfeat, wx0, wy0, ww, w, h, 4, 3, w, h);
  for (let y = 3; y < h; y++) {
    for (let x = 4; x < w; x++) {
      const p = y * w + x;
      const fi = ((y - wy0) * ww + (x - wx0)) * 2;
      assert.deepEqual([wfeat[fi], wfeat[fi + 1]], [stat[2 * p], stat[2 * p + 1]], `pixel ${x},${y}`);
    }
  }
  // Outside the rect nothing was written.
  assert.equal(wfeat[0], -1);
});

test('the combined distance is the colour SSD plus the weight times the feature SSD, and stops early alike', () => {
  const w = 10;
  const h = 8;
  const lab = labOf(w, h, (x, y) => (x * 11 + y * 7) % 23);
  const win = labOf(w, h, (x, y) => (x * 5 + y * 17) % 29);
  const feat = new Uint8Array(w * h * 2);
  const wfeat = new Float32Array(w * h * 2);
  for (let i = 0; i < feat.length; i++) {
    feat[i] = (i * 37) % 200;
    wfeat[i] = (i * 53) % 190;
  }
  const fw = 0.3;
  const tc = 3 * w + 4;
  const lc = 4 * w + 5;
  let colour = 0;
  let texture = 0;
  for (let dy = -2; dy <= 2; dy++) {
    for (let dx = -1; dx <= 2; dx++) {
      const a = tc + dy * w + dx;
      const b = lc + dy * w + dx;
      for (let c = 0; c < 3; c++) colour += (win[a * 3 + c] - lab[b * 3 + c]) ** 2;
      for (let c = 0; c < 2; c++) texture += (wfeat[a * 2 + c] - feat[b * 2 + c]) ** 2;
    }
  }
  const want = colour + fw * texture;
  const got = ssd76Feat(win, wfeat, w, tc, lab, feat, w, lc, -2, 2, -1, 2, Infinity, fw);
  assert.ok(Math.abs(got - want) < 1e-6 * want, `${got} vs ${want}`);
  const generic = ssdFeat(ssd76, win, wfeat, w, tc, lab, feat, w, lc, -2, 2, -1, 2, Infinity, fw);
  assert.ok(Math.abs(generic - want) < 1e-6 * want, `${generic} vs ${want}`);
  // Weight 0: the colour distance alone.
  assert.equal(ssd76Feat(win, wfeat, w, tc, lab, feat, w, lc, -2, 2, -1, 2, Infinity, 0), ssd76(win, w, tc, lab, w, lc, -2, 2, -1, 2, Infinity));
  // A limit below the total stops early with a partial sum at or above the limit, below the total.
  const partial = ssd76Feat(win, wfeat, w, tc, lab, feat, w, lc, -2, 2, -1, 2, want / 4, fw);
  assert.ok(partial >= want / 4 && partial < want);
});

test('prepare builds the features of the levels whose distance uses them, and the codec carries them', () => {
  const { plan } = resolveOptions({ tileSize: 24 });
  const w = 120;
  const h = 90;
  const hole = maskToBinary(discMask(w, h, 60, 45, 16), w, h);
  const { levels } = prepare(texturedImage(w, h), hole, null, plan);
  assert.ok(levels.length >= 2);
  for (const s of levels) {
    const used = featureWeight(s.level) > 0;
    assert.equal(used, s.level >= FEATURE_FROM_LEVEL);
    assert.equal(s.feat.length, used ? s.width * s.height * 2 : 0, `level ${s.level}`);
    if (used) assert.ok(s.feat.some((v) => v > 0), `level ${s.level} has texture`);
    const back = decodeLevelStatic(encodeLevelStatic(s));
    assert.deepEqual(back.feat, s.feat);
  }
});

test('with the features, a textured target prefers a textured source out of step to a flat one of its mean colour', () => {
  // Left half: a ±10 checkerboard around L 50; right half: flat L 50. The target is the
  // checkerboard in the opposite phase. Colour alone: the flat source is nearer (10² a pixel
  // against 20²); with the texture features the checkerboard wins, as it should.
  const w = 24;
  const h = 9;
  const lab = labOf(w, h, (x, y) => (x < 12 ? ((x + y) & 1 ? 60 : 40) : 50));
  for (let p = 0; p < w * h; p++) {
    lab[p * 3 + 1] = 0;
    lab[p * 3 + 2] = 0;
  }
  const feat = new Uint8Array(w * h * 2);
  staticFeatures(lab, new Uint8Array(w * h), w, h, feat);
  const r = 2;
  const side = 2 * r + 1;
  const win = new Float32Array(side * side * 3);
  const wfeat = new Float32Array(side * side * 2);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = y * side + x;
      win[i * 3] = (x + y) & 1 ? 60 : 40;
      wfeat[i * 2] = feat[(4 * w + 5) * 2];
      wfeat[i * 2 + 1] = feat[(4 * w + 5) * 2 + 1];
    }
  }
  const centre = r * side + r;
  const textured = 4 * w + 5;
  const flat = 4 * w + 18;
  const colour = (q: number): number => ssd76(win, side, centre, lab, w, q, -r, r, -r, r, Infinity);
  assert.ok(colour(flat) < colour(textured), 'colour alone prefers the flat source');
  const fw = featureWeight(FEATURE_FROM_LEVEL);
  assert.ok(fw > 0);
  const withFeat = (q: number): number => ssd76Feat(win, wfeat, side, centre, lab, feat, w, q, -r, r, -r, r, Infinity, fw);
  assert.ok(withFeat(textured) < withFeat(flat), `features prefer the textured source: ${withFeat(textured)} vs ${withFeat(flat)}`);
});
