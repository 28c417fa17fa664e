// Patch distance: the sum over a patch of squared colour differences between a target patch,
// read from a window buffer (current estimate around a tile), and a source patch, read from the
// level's Lab image. Targets near the image border compare only their in-image pixels. Sums stop
// as soon as they pass `limit` (a candidate that cannot win needs no exact distance).
import { ciede2000 } from './color.ts';

/**
 * Sum of squared ΔE76 over the patch rows dy0..dy1 and columns dx0..dx1 (offsets from the
 * centres). `wCentre` is the target centre's index in the window, `lCentre` the source centre's
 * pixel index; `wStride`/`lStride` are the row lengths in pixels.
 */
export function ssd76(
  win: Float32Array,
  wStride: number,
  wCentre: number,
  lab: Float32Array,
  lStride: number,
  lCentre: number,
  dy0: number,
  dy1: number,
  dx0: number,
  dx1: number,
  limit: number,
): number {
  let sum = 0;
  for (let dy = dy0; dy <= dy1; dy++) {
    let wi = (wCentre + dy * wStride + dx0) * 3;
    let li = (lCentre + dy * lStride + dx0) * 3;
    const end = wi + (dx1 - dx0 + 1) * 3;
    while (wi < end) {
      const a = win[wi] - lab[li];
      const b = win[wi + 1] - lab[li + 1];
      const c = win[wi + 2] - lab[li + 2];
      sum += a * a + b * b + c * c;
      wi += 3;
      li += 3;
    }
    if (sum >= limit) return sum;
  }
  return sum;
}

/** As ssd76, with squared CIEDE2000 differences. */
export function ssd2000(
  win: Float32Array,
  wStride: number,
  wCentre: number,
  lab: Float32Array,
  lStride: number,
  lCentre: number,
  dy0: number,
  dy1: number,
  dx0: number,
  dx1: number,
  limit: number,
): number {
  let sum = 0;
  for (let dy = dy0; dy <= dy1; dy++) {
    let wi = (wCentre + dy * wStride + dx0) * 3;
    let li = (lCentre + dy * lStride + dx0) * 3;
    const end = wi + (dx1 - dx0 + 1) * 3;
    while (wi < end) {
      const d = ciede2000(win[wi], win[wi + 1], win[wi + 2], lab[li], lab[li + 1], lab[li + 2]);
      sum += d * d;
      wi += 3;
      li += 3;
    }
    if (sum >= limit) return sum;
  }
  return sum;
}

export type SsdFn = typeof ssd76;
