// Binary-mask geometry on flat arrays: box dilation (which pixels a patch centred there would
// touch) and the distance from each hole pixel to the nearest known pixel.

/** 1 where any set pixel lies within Chebyshev distance r (a (2r+1)^2 box), else 0. */
export function dilateBox(mask: Uint8Array, width: number, height: number, r: number): Uint8Array {
  // Separable: a running count along rows, then along columns.
  const rows = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    let count = 0;
    for (let x = 0; x < Math.min(r, width); x++) count += mask[o + x];
    for (let x = 0; x < width; x++) {
      if (x + r < width) count += mask[o + x + r];
      if (x - r - 1 >= 0) count -= mask[o + x - r - 1];
      rows[o + x] = count > 0 ? 1 : 0;
    }
  }
  const out = new Uint8Array(width * height);
  for (let x = 0; x < width; x++) {
    let count = 0;
    for (let y = 0; y < Math.min(r, height); y++) count += rows[y * width + x];
    for (let y = 0; y < height; y++) {
      if (y + r < height) count += rows[(y + r) * width + x];
      if (y - r - 1 >= 0) count -= rows[(y - r - 1) * width + x];
      out[y * width + x] = count > 0 ? 1 : 0;
    }
  }
  return out;
}

/**
 * Chamfer distance (weights 1 and sqrt 2) from every pixel to the nearest pixel with hole = 0;
 * 0 on known pixels. Pixels off the image count as unknown, so a hole on the border is deep.
 */
export function distanceToKnown(hole: Uint8Array, width: number, height: number): Float32Array {
  const d = new Float32Array(width * height);
  const far = width + height;
  for (let i = 0; i < d.length; i++) d[i] = hole[i] ? far : 0;
  const s2 = Math.SQRT2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (d[i] === 0) continue;
      let v = d[i];
      if (x > 0) v = Math.min(v, d[i - 1] + 1);
      if (y > 0) {
        v = Math.min(v, d[i - width] + 1);
        if (x > 0) v = Math.min(v, d[i - width - 1] + s2);
        if (x < width - 1) v = Math.min(v, d[i - width + 1] + s2);
      }
      d[i] = v;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      if (d[i] === 0) continue;
      let v = d[i];
      if (x < width - 1) v = Math.min(v, d[i + 1] + 1);
      if (y < height - 1) {
        v = Math.min(v, d[i + width] + 1);
        if (x < width - 1) v = Math.min(v, d[i + width + 1] + s2);
        if (x > 0) v = Math.min(v, d[i + width - 1] + s2);
      }
      d[i] = v;
    }
  }
  return d;
}

/** Largest value of an array (0 for an empty one). */
export function maxOf(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}
