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

/**
 * As `ssd` (ssd76 or ssd2000), plus `fw` × the squared differences of the texture features
 * (features.ts): `wfeat` holds 2 floats per window pixel, `feat` 2 bytes per level pixel. The
 * colour sum runs first, row by row, and the features are added per row, so the early stop
 * still works on the combined sum.
 */
export function ssdFeat(
  ssd: SsdFn,
  win: Float32Array,
  wfeat: Float32Array,
  wStride: number,
  wCentre: number,
  lab: Float32Array,
  feat: Uint8Array,
  lStride: number,
  lCentre: number,
  dy0: number,
  dy1: number,
  dx0: number,
  dx1: number,
  limit: number,
  fw: number,
): number {
  let sum = 0;
  for (let dy = dy0; dy <= dy1; dy++) {
    sum += ssd(win, wStride, wCentre + dy * wStride, lab, lStride, lCentre + dy * lStride, 0, 0, dx0, dx1, Infinity);
    let wi = (wCentre + dy * wStride + dx0) * 2;
    let li = (lCentre + dy * lStride + dx0) * 2;
    const end = wi + (dx1 - dx0 + 1) * 2;
    let f = 0;
    while (wi < end) {
      const a = wfeat[wi] - feat[li];
      const b = wfeat[wi + 1] - feat[li + 1];
      f += a * a + b * b;
      wi += 2;
      li += 2;
    }
    sum += fw * f;
    if (sum >= limit) return sum;
  }
  return sum;
}

/** ssdFeat with ssd76, in one loop (the default distance: the kernel's hottest loop). */
export function ssd76Feat(
  win: Float32Array,
  wfeat: Float32Array,
  wStride: number,
  wCentre: number,
  lab: Float32Array,
  feat: Uint8Array,
  lStride: number,
  lCentre: number,
  dy0: number,
  dy1: number,
  dx0: number,
  dx1: number,
  limit: number,
  fw: number,
): number {
  let sum = 0;
  for (let dy = dy0; dy <= dy1; dy++) {
    const w0 = wCentre + dy * wStride + dx0;
    const l0 = lCentre + dy * lStride + dx0;
    let wi = w0 * 3;
    let li = l0 * 3;
    let wf = w0 * 2;
    let lf = l0 * 2;
    const end = wi + (dx1 - dx0 + 1) * 3;
    let c = 0;
    let f = 0;
    while (wi < end) {
      const a = win[wi] - lab[li];
      const b = win[wi + 1] - lab[li + 1];
      const d = win[wi + 2] - lab[li + 2];
      c += a * a + b * b + d * d;
      const g = wfeat[wf] - feat[lf];
      const h = wfeat[wf + 1] - feat[lf + 1];
      f += g * g + h * h;
      wi += 3;
      li += 3;
      wf += 2;
      lf += 2;
    }
    sum += c + fw * f;
    if (sum >= limit) return sum;
  }
  return sum;
}
