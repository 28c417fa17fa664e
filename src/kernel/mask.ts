// Mask rules. A mask with an alpha channel that has any pixel below 255 is a markup overlay
// (zavolokas/Inpainting style): its hole is alpha > 0. Any other mask is white on black
// (OpenCV, IOPaint): its hole is luminance > 127. Donor masks follow the same rules.
import { KernelError } from './errors.ts';
import type { RgbaImage } from './types.ts';

/** 1 where the mask marks a pixel, 0 elsewhere. `what` names the mask in error messages. */
export function maskToBinary(mask: RgbaImage, width: number, height: number, what = 'mask'): Uint8Array {
  if (mask.width !== width || mask.height !== height) {
    throw new KernelError(
      'BAD_MASK_SIZE',
      `${what} is ${mask.width}x${mask.height} but the image is ${width}x${height}; give a ${what} of the image's size`,
    );
  }
  const n = width * height;
  const d = mask.data;
  if (d.length < n * 4) throw new KernelError('BAD_MASK', `${what} data holds ${d.length} bytes, expected ${n * 4} (RGBA)`);
  let overlay = false;
  for (let i = 3; i < n * 4; i += 4) {
    if (d[i] < 255) {
      overlay = true;
      break;
    }
  }
  const out = new Uint8Array(n);
  if (overlay) {
    for (let i = 0; i < n; i++) out[i] = d[i * 4 + 3] > 0 ? 1 : 0;
  } else {
    // Rec. 601 luma in integer arithmetic, as PIL's convert('L') computes it.
    for (let i = 0, j = 0; i < n; i++, j += 4) out[i] = (d[j] * 19595 + d[j + 1] * 38470 + d[j + 2] * 7471 + 0x8000) >> 16 > 127 ? 1 : 0;
  }
  return out;
}

/** Number of set pixels. */
export function countSet(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** Union of donor masks (1 = a source patch may come from here), or null when there are none. */
export function donorUnion(donors: readonly RgbaImage[], width: number, height: number): Uint8Array | null {
  if (donors.length === 0) return null;
  const out = new Uint8Array(width * height);
  donors.forEach((donor, i) => {
    const m = maskToBinary(donor, width, height, `donor mask ${i + 1}`);
    for (let p = 0; p < m.length; p++) out[p] |= m[p];
  });
  return out;
}
