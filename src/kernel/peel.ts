// The top level's first guess: the hole is peeled from its boundary inwards, one ring at a time;
// each pixel takes the centre of the source patch that best matches the already-known part of
// its own patch (Criminisi-style greedy filling, without the priority order). Structure reaching
// the boundary is carried into the hole, which a diffusion fill would smear; EM then refines it.
//
// The rings are geometry alone (a ring: the hole pixels left that touch a filled one), so they
// are found first; a pixel of ring k then reads only pixels of rings before k. With the
// exhaustive search (small top levels, the shared cases) a pixel's match does not depend on
// which thread or in what order its ring's pixels ran, so the calling thread and worker threads
// can share a ring (a PeelJob): same bytes as one thread, and as a kernel node peeling alone.
import type { LevelStatic, PlanOptions } from './types.ts';
import type { Xorshift32 } from './prng.ts';
import { patchRadius } from './patch-size.ts';
import { holeIndexAt, randomSource } from './sources.ts';
import { isShared } from './shared-memory.ts';

/** Below this many sources, every source is tried for every pixel (the top level is small). */
const EXHAUSTIVE_SOURCES = 4000;
/** Otherwise: random sources tried per pixel, before the shrinking-window search. */
const RANDOM_TRIES = 8;

export interface PeelResult {
  /** Lab of each hole pixel, 3 floats per hole index. */
  values: Float32Array;
  /** The source patch centre each hole pixel copied its value from (-1: never reached). */
  match: Int32Array;
}

/** The peel's rings, from the hole's geometry alone. */
export interface PeelRings {
  /** Hole indices ring by ring, in hole-index order within a ring. */
  order: Int32Array;
  /** Ring k is order[ringStart[k] .. ringStart[k + 1]). */
  ringStart: Int32Array;
  /** Per pixel of the level: its ring, -1 for a known pixel, UNREACHED for a hole pixel no ring reaches. */
  ringOf: Int32Array;
}

const UNREACHED = 0x7fffffff;

export function peelRings(s: LevelStatic): PeelRings {
  const { width, height, holePixels } = s;
  const n = width * height;
  const holeCount = holePixels.length;
  const ringOf = new Int32Array(n).fill(-1);
  for (let h = 0; h < holeCount; h++) ringOf[holePixels[h]] = UNREACHED;
  const order = new Int32Array(holeCount);
  const starts = [0];
  let placed = 0;
  for (let k = 0; placed < holeCount; k++) {
    const from = placed;
    for (let h = 0; h < holeCount; h++) {
      const p = holePixels[h];
      if (ringOf[p] !== UNREACHED) continue;
      const x = p % width;
      const y = (p - x) / width;
      let touches = false;
      for (let dy = -1; dy <= 1 && !touches; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < width && ringOf[yy * width + xx] < k) {
            touches = true;
            break;
          }
        }
      }
      if (touches) order[placed++] = h;
    }
    if (placed === from) break; // unreachable while a known pixel exists; guards the loop
    // Marked after the scan: a ring's own pixels count as filled only for the next ring.
    for (let i = from; i < placed; i++) ringOf[holePixels[order[i]]] = k;
    starts.push(placed);
  }
  return { order: order.subarray(0, placed), ringStart: Int32Array.from(starts), ringOf };
}

/**
 * One peel shared by threads: every array on shared memory. `ctrl` holds [next position of
 * `rings.order` to claim, positions finished]; a pixel of ring k is peeled once every position
 * before ringStart[k] is finished.
 */
export interface PeelJob {
  s: LevelStatic;
  options: PlanOptions;
  rings: PeelRings;
  /** The level's Lab with peeled pixels written in (only those of finished rings are read). */
  work: Float32Array;
  values: Float32Array;
  match: Int32Array;
  ctrl: Int32Array;
}

const NEXT = 0;
const FINISHED = 1;
/** Microseconds helper threads spent peeling (their CPU, counted into what a call cost), and their pixels. */
const HELPER_US = 2;
const HELPER_PIXELS = 3;
/** A thread waiting this long for another's pixel gives up (a pixel takes microseconds). */
const STALL_MS = 60_000;

/**
 * Peels a pixel of `hole index, ring` into `values`, `match` and `work`; the exhaustive search
 * draws nothing from `rng`.
 */
function pixelPeeler(s: LevelStatic, options: PlanOptions, ringOf: Int32Array, work: Float32Array, values: Float32Array, match: Int32Array, rng: Xorshift32 | null): { exhaustive: boolean; peel: (h: number, ring: number) => void } {
  const { width, height, lab, holePixels, validSource, sourceCount } = s;
  const r = patchRadius(options, s.level);
  const n = width * height;
  const exhaustive = sourceCount <= EXHAUSTIVE_SOURCES;
  const maxRadius = Math.max(width, height);
  // The proximity prior of the search (tile-step.ts), per patch: nearer sources win ties.
  const penK = (options.proximity * (2 * r + 1) ** 2) / maxRadius;

  // A pixel's patch, gathered once per pixel (pixels of earlier rings are filled, its own ring's
  // are not): the filled pixels inside the image as offsets from the centre, in scan order, with
  // their Lab, and where each row inside the image ends. The masked SSD then reads only those;
  // it sums and stops early exactly as a scan of the whole patch would (same order, a check
  // after every row inside the image).
  const side = 2 * r + 1;
  const offs = new Int32Array(side * side);
  const tv = new Float32Array(side * side * 3);
  const rowEnd = new Int32Array(side);
  let rows = 0;
  let ring = 0;
  const gather = (p: number, x: number, y: number): void => {
    let k = 0;
    rows = 0;
    for (let dy = -r; dy <= r; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= height) continue;
      for (let dx = -r; dx <= r; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= width) continue;
        const t = p + dy * width + dx;
        if (ringOf[t] >= ring) continue;
        offs[k] = dy * width + dx;
        tv[k * 3] = work[t * 3];
        tv[k * 3 + 1] = work[t * 3 + 1];
        tv[k * 3 + 2] = work[t * 3 + 2];
        k++;
      }
      rowEnd[rows++] = k;
    }
  };
  // Masked SSD of the gathered patch against source q; `limit` stops early.
  const maskedSsd = (q: number, limit: number): number => {
    let sum = 0;
    let k = 0;
    for (let row = 0; row < rows; row++) {
      const end = rowEnd[row];
      for (; k < end; k++) {
        const u = (q + offs[k]) * 3;
        const i = k * 3;
        const a = tv[i] - lab[u];
        const b = tv[i + 1] - lab[u + 1];
        const c = tv[i + 2] - lab[u + 2];
        sum += a * a + b * b + c * c;
      }
      if (sum >= limit) return sum;
    }
    return sum;
  };
  // The exhaustive search's sources in index order (ties go to the lower index) with their x, y.
  const sources = new Int32Array(exhaustive ? sourceCount : 0);
  const sourceX = new Int32Array(sources.length);
  const sourceY = new Int32Array(sources.length);
  if (exhaustive) {
    let k = 0;
    for (let q = 0; q < n; q++) {
      if (!validSource[q]) continue;
      sources[k] = q;
      sourceX[k] = q % width;
      sourceY[k++] = Math.floor(q / width);
    }
  }

  // The pixel being matched and its best source so far; the candidate functions below are made
  // once, not per pixel, and read these.
  let px = 0;
  let py = 0;
  let best = -1;
  let bestD = Infinity;
  const penaltyTo = (q: number): number => {
    const qx = q % width;
    const qy = (q - qx) / width;
    return penK * Math.sqrt((qx - px) * (qx - px) + (qy - py) * (qy - py));
  };
  // A candidate source measured with the best distance so far as the bound (random search).
  const tryBounded = (q: number): void => {
    if (q < 0 || q >= n || q === best || !validSource[q]) return;
    const pen = penaltyTo(q);
    if (pen >= bestD) return;
    const d = pen + maskedSsd(q, bestD - pen);
    if (d < bestD) {
      bestD = d;
      best = q;
    }
  };
  // A candidate measured in full; ties go to the lower index (the exhaustive scan's rule).
  const tryFull = (q: number): void => {
    if (q < 0 || q >= n || q === best || !validSource[q]) return;
    const d = penaltyTo(q) + maskedSsd(q, Infinity);
    if (d < bestD || (d === bestD && q < best)) {
      bestD = d;
      best = q;
    }
  };
  // The sources the pixel's already matched neighbours copied, shifted to the pixel.
  const offerNeighbours = (offer: (q: number) => void): void => {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const xx = px + dx;
        const yy = py + dy;
        if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
        const pn = yy * width + xx;
        const rn = ringOf[pn];
        if (rn >= 0 && rn < ring) offer(match[holeIndexAt(s, pn)] - dy * width - dx);
      }
    }
  };

  const peel = (h: number, pixelRing: number): void => {
    ring = pixelRing;
    const p = holePixels[h];
    px = p % width;
    py = (p - px) / width;
    best = -1;
    bestD = Infinity;
    gather(p, px, py);
    if (exhaustive) {
      // A bound first, from the sources the neighbours of earlier rings copied, shifted
      // (coherence): with it most sources fall to the proximity prior or to the first rows of
      // the SSD. The scan keeps the smallest distance and, among equal ones, the lowest index,
      // which is what a scan in index order without the bound keeps: a source that only ties
      // is taken if its index is lower, on its full distance.
      offerNeighbours(tryFull);
      for (let k = 0; k < sources.length; k++) {
        const dx = sourceX[k] - px;
        const dy = sourceY[k] - py;
        const pen = penK * Math.sqrt(dx * dx + dy * dy);
        const q = sources[k];
        if (pen > bestD || q === best) continue;
        const d = pen + maskedSsd(q, bestD - pen);
        if (d < bestD) {
          bestD = d;
          best = q;
        } else if (d === bestD && q < best && pen + maskedSsd(q, Infinity) === bestD) {
          best = q;
        }
      }
    } else {
      // Neighbours already matched suggest their source, shifted (coherence).
      offerNeighbours(tryBounded);
      for (let k = 0; k < RANDOM_TRIES; k++) tryBounded(randomSource(s, r, rng!));
      if (best < 0) best = randomSource(s, r, rng!);
      const bx = best % width;
      const by = (best - bx) / width;
      for (let radius = maxRadius; radius >= 1; radius >>= 1) {
        const cx = Math.min(Math.max(bx + rng!.below(2 * radius + 1) - radius, r), width - 1 - r);
        const cy = Math.min(Math.max(by + rng!.below(2 * radius + 1) - radius, r), height - 1 - r);
        tryBounded(cy * width + cx);
      }
    }
    match[h] = best;
    work[p * 3] = values[h * 3] = lab[best * 3];
    work[p * 3 + 1] = values[h * 3 + 1] = lab[best * 3 + 1];
    work[p * 3 + 2] = values[h * 3 + 2] = lab[best * 3 + 2];
  };
  return { exhaustive, peel };
}

/** Claims and peels pixels of `job` until none is left to claim; the count this thread peeled. */
export function joinPeel(job: PeelJob, helper = true): number {
  const { ctrl, rings } = job;
  const { order, ringStart, ringOf } = rings;
  const holePixels = job.s.holePixels;
  const total = order.length;
  const { peel } = pixelPeeler(job.s, job.options, ringOf, job.work, job.values, job.match, null);
  let peeled = 0;
  let last = helper ? performance.now() : 0;
  for (;;) {
    const c = Atomics.add(ctrl, NEXT, 1);
    if (c >= total) break;
    const h = order[c];
    const k = ringOf[holePixels[h]];
    waitFinished(ctrl, ringStart[k]);
    peel(h, k);
    peeled++;
    // A helper's time is counted before its pixel is: once every pixel is finished, all of it is in.
    if (helper) {
      const now = performance.now();
      Atomics.add(ctrl, HELPER_US, Math.round((now - last) * 1000));
      Atomics.add(ctrl, HELPER_PIXELS, 1);
      last = now;
    }
    if (Atomics.add(ctrl, FINISHED, 1) + 1 === ringStart[k + 1]) Atomics.notify(ctrl, FINISHED);
  }
  return peeled;
}

/** What helper threads did in a finished peel: pixels, and ms from joining to their last pixel. */
export function helperPeel(job: PeelJob): { pixels: number; ms: number } {
  return { pixels: Atomics.load(job.ctrl, HELPER_PIXELS), ms: Atomics.load(job.ctrl, HELPER_US) / 1000 };
}

/** Blocks until at least `count` positions are finished (another thread's pixels of an earlier ring). */
function waitFinished(ctrl: Int32Array, count: number): void {
  let seen = Atomics.load(ctrl, FINISHED);
  if (seen >= count) return;
  let since = performance.now();
  for (;;) {
    Atomics.wait(ctrl, FINISHED, seen, 1);
    const now = Atomics.load(ctrl, FINISHED);
    if (now >= count) return;
    if (now !== seen) {
      seen = now;
      since = performance.now();
    } else if (performance.now() - since > STALL_MS) {
      throw new Error(`peel: no pixel finished for ${STALL_MS} ms (a helper thread stopped)`);
    }
  }
}

/** Below this many hole pixels at the top level, the calling thread peels alone. */
export const SHARED_PEEL_PIXELS = 64;

/** Whether peels are offered to helpers at all (benchmarks switch it off for paired A/B runs). */
export const peelSharing = { enabled: true };

/**
 * `share`, when given, is offered a PeelJob before the calling thread starts on it (it hands the
 * job to worker threads, which call joinPeel); it is only offered when the peel may be shared:
 * exhaustive search, the level on shared memory, at least SHARED_PEEL_PIXELS pixels.
 */
export function peelByPatches(s: LevelStatic, options: PlanOptions, rng: Xorshift32, share?: (job: PeelJob) => void): PeelResult {
  const { lab, holePixels } = s;
  const holeCount = holePixels.length;
  const rings = peelRings(s);
  const { order, ringOf } = rings;
  if (share && peelSharing.enabled && isShared(lab) && s.sourceCount <= EXHAUSTIVE_SOURCES && order.length >= SHARED_PEEL_PIXELS) {
    const work = new Float32Array(new SharedArrayBuffer(lab.byteLength));
    work.set(lab);
    const job: PeelJob = {
      s,
      options,
      rings,
      work,
      values: new Float32Array(new SharedArrayBuffer(holeCount * 12)),
      match: new Int32Array(new SharedArrayBuffer(holeCount * 4)).fill(-1),
      ctrl: new Int32Array(new SharedArrayBuffer(16)),
    };
    share(job);
    joinPeel(job, false);
    waitFinished(job.ctrl, order.length);
    return { values: job.values, match: job.match };
  }
  const work = Float32Array.from(lab);
  const values = new Float32Array(holeCount * 3);
  const match = new Int32Array(holeCount).fill(-1);
  const { peel } = pixelPeeler(s, options, ringOf, work, values, match, rng);
  for (let c = 0; c < order.length; c++) {
    const h = order[c];
    peel(h, ringOf[holePixels[h]]);
  }
  return { values, match };
}
