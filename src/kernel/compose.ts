// Step 5, pictures: a full-resolution preview of any level's state, and the final RGBA. Known
// pixels are always the input's own bytes; only hole pixels are written; alpha is kept.
import { labToRgb } from './color.ts';
import { holeIndexAt } from './sources.ts';
import type { LevelStatic, RgbaImage } from './types.ts';

function copyImage(image: RgbaImage): RgbaImage {
  return { width: image.width, height: image.height, data: Uint8Array.from(image.data) };
}

/** The final image: `values` are the Lab of level 0's hole pixels. */
export function finish(image: RgbaImage, level0: LevelStatic, values: Float32Array): RgbaImage {
  const out = copyImage(image);
  const holes = level0.holePixels;
  for (let h = 0; h < holes.length; h++) labToRgb(values[h * 3], values[h * 3 + 1], values[h * 3 + 2], out.data, holes[h] * 4);
  return out;
}

/**
 * The picture as it stands: the hole filled from a level's current values, upscaled bilinearly
 * (from the level image, known pixels included) to full resolution.
 */
export function preview(image: RgbaImage, level0: LevelStatic, s: LevelStatic, values: Float32Array): RgbaImage {
  if (s.level === 0) return finish(image, level0, values);
  const out = copyImage(image);
  const { width: lw, height: lh, lab } = s;
  const sx = lw / image.width;
  const sy = lh / image.height;
  const px = new Float64Array(3);
  const at = (x: number, y: number, w: number): void => {
    const p = y * lw + x;
    const h = holeIndexAt(s, p);
    const src = h < 0 ? lab : values;
    const o = (h < 0 ? p : h) * 3;
    px[0] += w * src[o];
    px[1] += w * src[o + 1];
    px[2] += w * src[o + 2];
  };
  const holes = level0.holePixels;
  for (let k = 0; k < holes.length; k++) {
    const p = holes[k];
    const x = p % image.width;
    const y = (p - x) / image.width;
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), lw - 1);
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), lh - 1);
    const x0 = Math.floor(fx);
    const y0 = Math.floor(fy);
    const x1 = Math.min(x0 + 1, lw - 1);
    const y1 = Math.min(y0 + 1, lh - 1);
    const ax = fx - x0;
    const ay = fy - y0;
    px.fill(0);
    at(x0, y0, (1 - ax) * (1 - ay));
    at(x1, y0, ax * (1 - ay));
    at(x0, y1, (1 - ax) * ay);
    at(x1, y1, ax * ay);
    labToRgb(px[0], px[1], px[2], out.data, p * 4);
  }
  return out;
}
