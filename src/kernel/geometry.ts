// Binary-mask geometry on flat arrays: box dilation (which pixels a patch centred there would
// touch) and the distance from each hole pixel to the nearest known pixel.

/**
 * 1 where any set pixel lies within Chebyshev distance r (a (2r+1)^2 box), else 0. `rows` is an
 * optional scratch of the image's size (callers dilating twice share one; only the part this
 * call writes is read back, so it need not be cleared).
 */
export function dilateBox(mask: Uint8Array, width: number, height: number, r: number, rows = new Uint8Array(width * height)): Uint8Array {
  const out = new Uint8Array(width * height);
  // Only the set pixels' bounding box grown by r can be 1: a hole is a small part of a big
  // image, and this runs twice per level in prepare (its costliest part after the Lab).
  let y0 = height;
  let y1 = -1;
  let x0 = width;
  let x1 = -1;
  for (let y = 0; y < height; y++) {
    const o = y * width;
    let first = -1;
    for (let x = 0; x < width; x++) {
      if (mask[o + x]) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    if (y < y0) y0 = y;
    y1 = y;
    if (first < x0) x0 = first;
    for (let x = width - 1; x > x1; x--) {
      if (mask[o + x]) {
        x1 = x;
        break;
      }
    }
  }
  if (y1 < 0) return out;
  const xa = Math.max(x0 - r, 0);
  const xb = Math.min(x1 + r, width - 1);
  // Rows: a running count along each row of the box, over the columns that can be 1.
  for (let y = y0; y <= y1; y++) {
    const o = y * width;
    let count = 0;
    for (let x = xa; x < Math.min(xa + r, width); x++) count += mask[o + x];
    for (let x = xa; x <= xb; x++) {
      if (x + r < width) count += mask[o + x + r];
      if (x - r - 1 >= xa) count -= mask[o + x - r - 1];
      rows[o + x] = count > 0 ? 1 : 0;
    }
  }
  // Columns: a running count per column, advanced row by row (sequential memory access).
  const count = new Int32Array(xb - xa + 1);
  const ya = Math.max(y0 - r, 0);
  const yb = Math.min(y1 + r, height - 1);
  // The window of row ya before its own step adds row ya + r: rows ya - r .. ya + r - 1.
  for (let y = y0; y <= Math.min(ya + r - 1, y1); y++) {
    const o = y * width + xa;
    for (let i = 0; i < count.length; i++) count[i] += rows[o + i];
  }
  for (let y = ya; y <= yb; y++) {
    const add = y + r;
    const sub = y - r - 1;
    if (add >= y0 && add <= y1) {
      const o = add * width + xa;
      for (let i = 0; i < count.length; i++) count[i] += rows[o + i];
    }
    if (sub >= y0 && sub <= y1) {
      const o = sub * width + xa;
      for (let i = 0; i < count.length; i++) count[i] -= rows[o + i];
    }
    const o = y * width + xa;
    for (let i = 0; i < count.length; i++) out[o + i] = count[i] > 0 ? 1 : 0;
  }
  return out;
}

/**
 * Chamfer distance (weights 1 and sqrt 2) from each pixel to the nearest pixel with hole = 0,
 * over the hole's bounding box grown by one pixel (`x0, y0, w, h`); every pixel outside it is
 * known, distance 0 (see `at`). Pixels off the image count as unknown, so a hole on the border is
 * deep. The ring around the box is known, so no shortest path leaves the box: the values are
 * those of a whole-image transform, at the size of the hole's box rather than the image's.
 */
export interface HoleDepth {
  x0: number;
  y0: number;
  w: number;
  h: number;
  d: Float32Array;
  /** Largest distance (the hole's radius). */
  max: number;
}

export function distanceToKnown(hole: Uint8Array, width: number, height: number): HoleDepth {
  let bx0 = width;
  let by0 = height;
  let bx1 = -1;
  let by1 = -1;
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let x = 0; x < width; x++) {
      if (!hole[o + x]) continue;
      if (x < bx0) bx0 = x;
      if (x > bx1) bx1 = x;
      if (y < by0) by0 = y;
      by1 = y;
    }
  }
  if (bx1 < 0) return { x0: 0, y0: 0, w: 0, h: 0, d: new Float32Array(0), max: 0 };
  const x0 = Math.max(bx0 - 1, 0);
  const y0 = Math.max(by0 - 1, 0);
  const w = Math.min(bx1 + 2, width) - x0;
  const h = Math.min(by1 + 2, height) - y0;
  const d = new Float32Array(w * h);
  const far = width + height;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d[y * w + x] = hole[(y0 + y) * width + x0 + x] ? far : 0;
  const s2 = Math.SQRT2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (d[i] === 0) continue;
      let v = d[i];
      if (x > 0) v = Math.min(v, d[i - 1] + 1);
      if (y > 0) {
        v = Math.min(v, d[i - w] + 1);
        if (x > 0) v = Math.min(v, d[i - w - 1] + s2);
        if (x < w - 1) v = Math.min(v, d[i - w + 1] + s2);
      }
      d[i] = v;
    }
  }
  let max = 0;
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      if (d[i] === 0) continue;
      let v = d[i];
      if (x < w - 1) v = Math.min(v, d[i + 1] + 1);
      if (y < h - 1) {
        v = Math.min(v, d[i + w] + 1);
        if (x < w - 1) v = Math.min(v, d[i + w + 1] + s2);
        if (x > 0) v = Math.min(v, d[i + w - 1] + s2);
      }
      d[i] = v;
      if (v > max) max = v;
    }
  }
  return { x0, y0, w, h, d, max };
}

/** The distance at pixel (x, y) of the image (0 outside the box). */
export function depthAt(depth: HoleDepth, x: number, y: number): number {
  const dx = x - depth.x0;
  const dy = y - depth.y0;
  return dx >= 0 && dy >= 0 && dx < depth.w && dy < depth.h ? depth.d[dy * depth.w + dx] : 0;
}
