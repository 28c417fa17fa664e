// Fill quality against ground truth, computed as /work/shared/tools/eval.py does (so figures
// agree): PSNR over the hole's pixels (RGB, 8 bit) and the ratio of mean Sobel gradient
// magnitude of luminance inside the hole, output over truth (blur drives it towards 0.5).
import type { RgbaImage } from '../../src/kernel/index.ts';

export function psnrHole(out: RgbaImage, truth: RgbaImage, hole: Uint8Array): number {
  let se = 0;
  let n = 0;
  for (let p = 0; p < hole.length; p++) {
    if (!hole[p]) continue;
    for (let c = 0; c < 3; c++) {
      const d = out.data[p * 4 + c] - truth.data[p * 4 + c];
      se += d * d;
    }
    n += 3;
  }
  const mse = se / n;
  return mse === 0 ? 100 : Math.min(100, 10 * Math.log10((255 * 255) / mse));
}

function luminance(img: RgbaImage): Float64Array {
  const n = img.width * img.height;
  const lum = new Float64Array(n);
  for (let p = 0; p < n; p++) lum[p] = 0.299 * img.data[p * 4] + 0.587 * img.data[p * 4 + 1] + 0.114 * img.data[p * 4 + 2];
  return lum;
}

/** Mean Sobel magnitude over the hole, with scipy.ndimage's default 'reflect' border. */
export function meanGradient(img: RgbaImage, hole: Uint8Array): number {
  const { width: w, height: h } = img;
  const lum = luminance(img);
  const at = (x: number, y: number): number => lum[Math.min(Math.max(y, 0), h - 1) * w + Math.min(Math.max(x, 0), w - 1)];
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!hole[y * w + x]) continue;
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      sum += Math.hypot(gx, gy);
      n++;
    }
  }
  return n ? sum / n : 0;
}

export function gradientRatio(out: RgbaImage, truth: RgbaImage, hole: Uint8Array): number {
  return meanGradient(out, hole) / Math.max(meanGradient(truth, hole), 1e-9);
}
