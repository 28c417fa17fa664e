// Step 2, level initialisation: the first state of a level. At the top, the hole is filled by
// peeling it from its boundary inwards with patch matches (peel.ts) and the nearest-neighbour
// field starts from those matches; below, the coarser level's field is
// upscaled (offsets doubled) and its values carried down. Distances start unknown (-1): the
// first tile step computes them against these values.
import { patchRadius } from './patch-size.ts';
import { peelByPatches, type PeelJob } from './peel.ts';
import { streamSeed, Xorshift32 } from './prng.ts';
import { allocArray, isShared } from './shared-memory.ts';
import { holeIndexAt, randomSource } from './sources.ts';
import type { LevelState, LevelStatic, PlanOptions } from './types.ts';

/** Search-only iterations at the top level before the first vote: the random field converges first. */
export const TOP_WARMUP_SEARCHES = 2;

function emptyState(s: LevelStatic): LevelState {
  const holeCount = s.holePixels.length;
  const targetCount = s.targetPixels.length;
  // On shared memory when the level is (see assemble.ts).
  const shared = isShared(s.lab);
  return {
    level: s.level,
    iteration: 0,
    values: allocArray(Float32Array, holeCount * 3, shared),
    nnf: allocArray(Int32Array, targetCount, shared),
    dist: allocArray(Float32Array, targetCount, shared).fill(-1),
    voteScale: 0,
    changed: holeCount,
    previousChanged: holeCount,
    warmup: 0,
  };
}

/** First state of the top (coarsest) level; `sharePeel` may hand the peel to helper threads (peel.ts), same bytes. */
export function initTopLevel(s: LevelStatic, options: PlanOptions, sharePeel?: (job: PeelJob) => void): LevelState {
  const state = emptyState(s);
  const rng = new Xorshift32(streamSeed(options.seed, s.level, -1, 0));
  const { values, match } = peelByPatches(s, options, rng, sharePeel);
  state.values.set(values);
  // Hole-centred patches start from the source their centre was peeled from; the others at
  // random. The first iterations only search (state.warmup), so no vote reads a random match.
  const r = patchRadius(options, s.level);
  for (let t = 0; t < state.nnf.length; t++) {
    const h = s.targetHole[t];
    state.nnf[t] = h >= 0 ? match[h] : randomSource(s, r, rng);
  }
  state.warmup = TOP_WARMUP_SEARCHES;
  return state;
}

/** First state of a level from the last state of the level above it. */
export function initFromCoarser(fine: LevelStatic, coarse: LevelStatic, coarseState: LevelState, options: PlanOptions): LevelState {
  const state = emptyState(fine);
  const { width, height, validSource, targetPixels, holePixels } = fine;
  const cw = coarse.width;
  const ch = coarse.height;
  const r = patchRadius(options, fine.level);
  const rng = new Xorshift32(streamSeed(options.seed, fine.level, -1, 0));
  for (let t = 0; t < targetPixels.length; t++) {
    const p = targetPixels[t];
    const x = p % width;
    const y = (p - x) / width;
    const px = Math.min(x >> 1, cw - 1);
    const py = Math.min(y >> 1, ch - 1);
    const ct = coarse.targetIndex[py * cw + px];
    let q = -1;
    if (ct >= 0) {
      const cq = coarseState.nnf[ct];
      const cqx = cq % cw;
      const cqy = (cq - cqx) / cw;
      // Keep the coarse offset, doubled; clamp to where a whole patch fits.
      const qx = Math.min(Math.max(x + 2 * (cqx - px), r), width - 1 - r);
      const qy = Math.min(Math.max(y + 2 * (cqy - py), r), height - 1 - r);
      q = nearestValid(validSource, width, height, qx, qy, 2);
    }
    state.nnf[t] = q >= 0 ? q : randomSource(fine, r, rng);
  }
  for (let h = 0; h < holePixels.length; h++) {
    const p = holePixels[h];
    const x = p % width;
    const y = (p - x) / width;
    const ch0 = holeIndexAt(coarse, Math.min(y >> 1, ch - 1) * cw + Math.min(x >> 1, cw - 1));
    if (ch0 >= 0) {
      state.values[h * 3] = coarseState.values[ch0 * 3];
      state.values[h * 3 + 1] = coarseState.values[ch0 * 3 + 1];
      state.values[h * 3 + 2] = coarseState.values[ch0 * 3 + 2];
    }
  }
  return state;
}

/** The valid source closest to (x, y) within Chebyshev radius `reach`, scanning rings outwards; -1 if none. */
function nearestValid(valid: Uint8Array, width: number, height: number, x: number, y: number, reach: number): number {
  if (valid[y * width + x]) return y * width + x;
  for (let d = 1; d <= reach; d++) {
    for (let dy = -d; dy <= d; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= height) continue;
      const step = dy === -d || dy === d ? 1 : 2 * d;
      for (let dx = -d; dx <= d; dx += step) {
        const xx = x + dx;
        if (xx >= 0 && xx < width && valid[yy * width + xx]) return yy * width + xx;
      }
    }
  }
  return -1;
}
