// Offset statistics (He and Sun, "Statistics of Patch Offsets for Image Completion", ECCV 2012).
// Match every known patch of one pyramid level to its most similar known patch at least a small
// distance away, histogram the offsets (dx, dy) between them, smooth the histogram and keep its
// strongest peaks: the few shifts under which the picture repeats itself (a brick course's
// period, a row of windows, the next lantern, a ledge running on). The search (tile-step.ts)
// then tries the source p + offset for every target p, so the field can take up the picture's
// own repetitions wherever no nearby source says otherwise.
//
// Computed once per fill in prepare, on the reference level (the finest whose longer side is at
// most OFFSET_SIDE: fine enough to see the structure, small enough to match cheaply), and scaled
// to every level that uses them; seeded from the plan's seed, so every node computes the same.
import { streamSeed, Xorshift32 } from './prng.ts';

/** Dominant offsets kept per level (He and Sun keep 60). */
export const OFFSET_COUNT = 32;
/** The statistics are taken on the finest level whose longer side is at most this. */
export const OFFSET_SIDE = 128;
/**
 * Levels from this one up search the dominant offsets (see tile-step.ts), and of those only the
 * reference level (offsetLevel) and coarser: the structure is laid down there and the finer
 * levels inherit it through the upscaled NNF. On a 1024x768 fill, searching them on level 2
 * (256x192) too cost 23% of the one-thread time for no visible change.
 */
export const OFFSET_FROM_LEVEL = 2;
/**
 * Only target patches centred at least this deep in the hole (chamfer distance to the nearest
 * known pixel) try the offsets: near the boundary the nearest sources are the right ones, and
 * far sources that happen to match better cost the small holes PSNR (see docs/architecture.md).
 */
export const OFFSET_MIN_DEPTH = 2;
/** Patches matched at most (a coarser grid of them above this). */
const MAX_PATCHES = 2000;
/** PatchMatch passes of the known-to-known matching. */
const MATCH_PASSES = 4;
/** A histogram peak must beat every bin within this Chebyshev radius (non-maximum suppression). */
const SUPPRESS_RADIUS = 2;
/** Matches closer than this fraction of the longer side are not counted (He and Sun: 1/15). */
const MIN_GAP_FRACTION = 1 / 15;

/** The iteration number of the matching's random stream (a level's init uses -1). */
const STATS_STREAM = -2;

/** The level the statistics are taken on: the finest with longer side <= OFFSET_SIDE, else the coarsest. */
export function offsetLevel(sizes: readonly { width: number; height: number }[]): number {
  for (let l = 0; l < sizes.length; l++) if (Math.max(sizes[l].width, sizes[l].height) <= OFFSET_SIDE) return l;
  return sizes.length - 1;
}

/**
 * The largest voting confidence (confidenceBase^-depth, prepare.ts) of a target patch that tries
 * the offsets: one centred OFFSET_MIN_DEPTH or deeper into the hole (the margin absorbs float32
 * rounding; chamfer depths step by 1 and √2).
 */
export function offsetConfidence(confidenceBase: number): number {
  return confidenceBase ** -(OFFSET_MIN_DEPTH - 0.01);
}

/** Whether `level` searches the dominant offsets, given the reference level `ref` (offsetLevel). */
export function usesOffsets(level: number, ref: number): boolean {
  return level >= Math.max(OFFSET_FROM_LEVEL, ref);
}

/**
 * The dominant offsets of a level: (dx, dy) pairs, strongest first, at most OFFSET_COUNT. `lab`
 * is the level's Lab, `validSource` its valid source centres (patches of radius r wholly known).
 */
export function dominantOffsets(lab: Float32Array, validSource: Uint8Array, width: number, height: number, r: number, seed: number, level: number): Int32Array {
  const n = width * height;
  let sources = 0;
  for (let p = 0; p < n; p++) sources += validSource[p];
  if (sources < 2) return new Int32Array(0);
  // Patches on a grid of this step (1 on small levels); propagation steps along the grid.
  const stride = Math.max(1, Math.ceil(Math.sqrt(sources / MAX_PATCHES)));
  const gap = Math.max(2 * r + 1, Math.ceil(Math.max(width, height) * MIN_GAP_FRACTION));
  const list: number[] = [];
  for (let y = r; y < height - r; y += stride) {
    for (let x = r; x < width - r; x += stride) if (validSource[y * width + x]) list.push(y * width + x);
  }
  const patches = Int32Array.from(list);
  const nn = new Int32Array(n).fill(-1);
  const nd = new Float32Array(n);
  const rng = new Xorshift32(streamSeed(seed, level, STATS_STREAM, 0));
  const side = 2 * r + 1;

  const ssd = (p: number, q: number, limit: number): number => {
    let sum = 0;
    for (let dy = -r; dy <= r; dy++) {
      let a = (p + dy * width - r) * 3;
      let b = (q + dy * width - r) * 3;
      const end = a + side * 3;
      while (a < end) {
        const d0 = lab[a] - lab[b];
        const d1 = lab[a + 1] - lab[b + 1];
        const d2 = lab[a + 2] - lab[b + 2];
        sum += d0 * d0 + d1 * d1 + d2 * d2;
        a += 3;
        b += 3;
      }
      if (sum >= limit) return sum;
    }
    return sum;
  };
  // Tries q as p's match; the match must be a valid source at least `gap` away on some axis.
  const tryMatch = (p: number, px: number, py: number, q: number): void => {
    if (q < 0 || q >= n || !validSource[q]) return;
    const qx = q % width;
    const qy = (q - qx) / width;
    if (Math.abs(qx - px) < gap && Math.abs(qy - py) < gap) return;
    if (q === nn[p]) return;
    const limit = nn[p] < 0 ? Infinity : nd[p];
    const d = ssd(p, q, limit);
    if (d < limit) {
      nn[p] = q;
      nd[p] = d;
    }
  };

  const w = width - 2 * r;
  const h = height - 2 * r;
  for (let k = 0; k < patches.length; k++) {
    const p = patches[k];
    const px = p % width;
    const py = (p - px) / width;
    for (let tries = 0; tries < 8 && nn[p] < 0; tries++) tryMatch(p, px, py, (r + rng.below(h)) * width + r + rng.below(w));
  }
  const maxRadius = Math.max(width, height);
  for (let pass = 0; pass < MATCH_PASSES; pass++) {
    const forward = (pass & 1) === 0;
    const step = forward ? stride : -stride;
    for (let k = forward ? 0 : patches.length - 1; k >= 0 && k < patches.length; k += forward ? 1 : -1) {
      const p = patches[k];
      const px = p % width;
      const py = (p - px) / width;
      // Propagation from the grid neighbours before p in scan order, their match shifted alike.
      if (px - step >= 0 && px - step < width && nn[p - step] >= 0) tryMatch(p, px, py, nn[p - step] + step);
      if (py - step >= 0 && py - step < height && nn[p - step * width] >= 0) tryMatch(p, px, py, nn[p - step * width] + step * width);
      // Random search in halving windows around the best so far.
      const best = nn[p];
      const bx = best < 0 ? px : best % width;
      const by = best < 0 ? py : (best - bx) / width;
      for (let radius = maxRadius; radius >= 1; radius >>= 1) {
        const cx = Math.min(Math.max(bx + rng.below(2 * radius + 1) - radius, r), width - 1 - r);
        const cy = Math.min(Math.max(by + rng.below(2 * radius + 1) - radius, r), height - 1 - r);
        tryMatch(p, px, py, cy * width + cx);
      }
    }
  }

  // Histogram of the offsets, smoothed by a 3x3 binomial kernel (integers: exact on any machine).
  const hw = 2 * width - 1;
  const hh = 2 * height - 1;
  const hist = new Int32Array(hw * hh);
  for (let k = 0; k < patches.length; k++) {
    const p = patches[k];
    const q = nn[p];
    if (q < 0) continue;
    const px = p % width;
    const qx = q % width;
    const dx = qx - px;
    const dy = (q - qx) / width - (p - px) / width;
    hist[(dy + height - 1) * hw + dx + width - 1]++;
  }
  const rows = new Int32Array(hw * hh);
  for (let y = 0; y < hh; y++) {
    for (let x = 0; x < hw; x++) {
      const b = y * hw + x;
      rows[b] = 2 * hist[b] + (x > 0 ? hist[b - 1] : 0) + (x < hw - 1 ? hist[b + 1] : 0);
    }
  }
  const smooth = hist; // reused: hist is not read again
  for (let y = 0; y < hh; y++) {
    for (let x = 0; x < hw; x++) {
      const b = y * hw + x;
      smooth[b] = 2 * rows[b] + (y > 0 ? rows[b - hw] : 0) + (y < hh - 1 ? rows[b + hw] : 0);
    }
  }

  // Peaks: bins above every other bin within SUPPRESS_RADIUS (ties go to the lower bin index).
  const peaks: number[] = [];
  for (let y = 0; y < hh; y++) {
    for (let x = 0; x < hw; x++) {
      const b = y * hw + x;
      const v = smooth[b];
      if (v <= 0) continue;
      let peak = true;
      for (let yy = Math.max(0, y - SUPPRESS_RADIUS); yy <= Math.min(hh - 1, y + SUPPRESS_RADIUS) && peak; yy++) {
        for (let xx = Math.max(0, x - SUPPRESS_RADIUS); xx <= Math.min(hw - 1, x + SUPPRESS_RADIUS); xx++) {
          const c = yy * hw + xx;
          if (c !== b && (smooth[c] > v || (smooth[c] === v && c < b))) {
            peak = false;
            break;
          }
        }
      }
      if (peak) peaks.push(b);
    }
  }
  peaks.sort((a, b) => smooth[b] - smooth[a] || a - b);
  const count = Math.min(OFFSET_COUNT, peaks.length);
  const out = new Int32Array(2 * count);
  for (let k = 0; k < count; k++) {
    const b = peaks[k];
    const x = b % hw;
    out[2 * k] = x - (width - 1);
    out[2 * k + 1] = (b - x) / hw - (height - 1);
  }
  return out;
}

/** What the statistics are taken from: the reference level's arrays (see prepare.ts, offsetTask). */
export interface OffsetTask {
  level: number;
  lab: Float32Array;
  validSource: Uint8Array;
  width: number;
  height: number;
  /** Patch radius on the reference level. */
  r: number;
  seed: number;
}

/** dominantOffsets of a task (on whichever thread: the result depends on the task alone). */
export function runOffsetTask(task: OffsetTask): Int32Array {
  return dominantOffsets(task.lab, task.validSource, task.width, task.height, task.r, task.seed, task.level);
}

/**
 * Offsets of one level carried to a level `shift` levels finer (shift > 0: doubled per level) or
 * coarser (shift < 0: halved per level, rounded to the nearest, halves away from 0), strongest
 * first, without repeats, (0, 0) or offsets no patch of radius r fits on a width x height level.
 */
export function scaleOffsets(offsets: Int32Array, shift: number, width: number, height: number, r: number): Int32Array {
  const out: number[] = [];
  const seen = new Set<number>();
  const scale = (v: number): number => (shift >= 0 ? v * 2 ** shift : Math.sign(v) * Math.round(Math.abs(v) / 2 ** -shift));
  for (let k = 0; k < offsets.length; k += 2) {
    const dx = scale(offsets[k]);
    const dy = scale(offsets[k + 1]);
    if ((dx === 0 && dy === 0) || Math.abs(dx) > width - 1 - 2 * r || Math.abs(dy) > height - 1 - 2 * r) continue;
    const key = (dy + height) * (2 * width + 1) + dx + width;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(dx, dy);
  }
  return Int32Array.from(out);
}
