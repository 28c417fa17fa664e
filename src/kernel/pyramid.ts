import { allocArray } from './shared-memory.ts';

// One pyramid step: halve a level (sizes rounded up). A coarse pixel is hole if any of its
// children is, so coarse known pixels are exact averages of known fine pixels; a coarse pixel is
// donor if any child is, so thin donor areas do not vanish on the way up.

export interface PyramidLevel {
  width: number;
  height: number;
  /** Lab, 3 floats per pixel; 0 on hole pixels. */
  lab: Float32Array;
  hole: Uint8Array;
  donor: Uint8Array | null;
}

export function halfSize(n: number): number {
  return (n + 1) >> 1;
}

/** `shared`: put the coarse Lab on a SharedArrayBuffer (it becomes the level's static Lab as is). */
export function downscale(fine: PyramidLevel, shared = false): PyramidLevel {
  const fw = fine.width;
  const fh = fine.height;
  const w = halfSize(fw);
  const h = halfSize(fh);
  const lab = allocArray(Float32Array, w * h * 3, shared);
  const hole = new Uint8Array(w * h);
  const donor = fine.donor ? new Uint8Array(w * h) : null;
  for (let y = 0; y < h; y++) {
    const fy0 = 2 * y;
    const fy1 = Math.min(2 * y + 1, fh - 1);
    for (let x = 0; x < w; x++) {
      const fx0 = 2 * x;
      const fx1 = Math.min(2 * x + 1, fw - 1);
      const o = y * w + x;
      let isHole = 0;
      let isDonor = 0;
      let n = 0;
      let l = 0;
      let a = 0;
      let b = 0;
      for (let fy = fy0; fy <= fy1; fy++) {
        for (let fx = fx0; fx <= fx1; fx++) {
          const f = fy * fw + fx;
          isHole |= fine.hole[f];
          if (fine.donor) isDonor |= fine.donor[f];
          l += fine.lab[f * 3];
          a += fine.lab[f * 3 + 1];
          b += fine.lab[f * 3 + 2];
          n++;
        }
      }
      hole[o] = isHole;
      if (donor) donor[o] = isDonor;
      if (!isHole) {
        lab[o * 3] = l / n;
        lab[o * 3 + 1] = a / n;
        lab[o * 3 + 2] = b / n;
      }
    }
  }
  return { width: w, height: h, lab, hole, donor };
}
