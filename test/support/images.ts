// Test images made in code: no test reads ../shared.
import type { RgbaImage } from '../../src/kernel/index.ts';

/** A deterministic textured picture: diagonal stripes, a horizon, and seeded noise. */
export function texturedImage(width: number, height: number, seed = 7): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  let s = seed >>> 0 || 1;
  const noise = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 21) - 10;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const stripe = ((x + y) >> 2) % 2 === 0;
      const sky = y < height / 3;
      const base = sky ? [120, 160, 220] : stripe ? [170, 120, 60] : [90, 140, 70];
      for (let c = 0; c < 3; c++) data[o + c] = Math.min(255, Math.max(0, base[c] + noise()));
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** Vertical stripes of period `period` (half dark, half light): a texture with a known truth. */
export function stripes(width: number, height: number, period = 8): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const v = x % period < period / 2 ? 40 : 210;
      data[o] = v;
      data[o + 1] = v;
      data[o + 2] = 255 - v;
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** White-on-black mask (alpha 255) with a filled rectangle. */
export function rectMask(width: number, height: number, x0: number, y0: number, x1: number, y1: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const v = x >= x0 && x < x1 && y >= y0 && y < y1 ? 255 : 0;
      data[o] = data[o + 1] = data[o + 2] = v;
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** White-on-black mask with a filled disc. */
export function discMask(width: number, height: number, cx: number, cy: number, radius: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const v = (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius ? 255 : 0;
      data[o] = data[o + 1] = data[o + 2] = v;
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** 1 where the white-on-black mask is set. */
export function bits(mask: RgbaImage): Uint8Array {
  const out = new Uint8Array(mask.width * mask.height);
  for (let p = 0; p < out.length; p++) out[p] = mask.data[p * 4] > 127 ? 1 : 0;
  return out;
}

/** The union of white-on-black masks of one size (a pixel is set if any mask sets it). */
export function unionMask(...masks: RgbaImage[]): RgbaImage {
  const { width, height } = masks[0];
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const v = masks.some((m) => m.data[p * 4] > 127) ? 255 : 0;
    data[p * 4] = data[p * 4 + 1] = data[p * 4 + 2] = v;
    data[p * 4 + 3] = 255;
  }
  return { width, height, data };
}
