// Step 4, assembly: the next state of a level from its tile results, in tile order. Tiles own
// contiguous ranges of hole and target indices, so this is concatenation plus a few checks.
import { KernelError } from './errors.ts';
import { allocArray, isShared } from './shared-memory.ts';
import type { LevelState, LevelStatic, PlanOptions, StateBuffers, TileResult } from './types.ts';

function check(s: LevelStatic, state: LevelState, results: readonly TileResult[], withField: boolean): void {
  const tiles = s.tiles.length >> 2;
  if (results.length !== tiles) throw new KernelError('BAD_DATA', `level ${s.level} has ${tiles} tiles, got ${results.length} results`);
  for (let k = 0; k < tiles; k++) {
    const res = results[k];
    const holes = s.tileHoleStart[k + 1] - s.tileHoleStart[k];
    const targets = s.tileTargetStart[k + 1] - s.tileTargetStart[k];
    if (res.tile !== k || res.level !== s.level || res.iteration !== state.iteration) {
      throw new KernelError('BAD_DATA', `result ${k} is of level ${res.level} iteration ${res.iteration} tile ${res.tile}, expected level ${s.level} iteration ${state.iteration} tile ${k}`);
    }
    if (res.values.length !== holes * 3 || (withField && (res.nnf.length !== targets || res.dist.length !== targets))) {
      throw new KernelError('BAD_DATA', `result of tile ${k} has the wrong number of entries`);
    }
  }
}

/** k-th smallest of a copy of `a` (quickselect, deterministic pivots). */
export function selectKth(a: Float32Array, k: number): number {
  return selectKthInPlace(new Float32Array(a.length), a, k);
}

/** k-th smallest of `a`, using `v` (same length) as the working copy. */
function selectKthInPlace(v: Float32Array, a: Float32Array, k: number): number {
  v.set(a);
  let lo = 0;
  let hi = v.length - 1;
  while (lo < hi) {
    const pivot = v[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        const tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return v[k];
}

/** Arrays for a level's next state (StateBuffers), on shared memory when the level is. */
export function stateBuffers(s: LevelStatic, mode: 'iterate' | 'vote' = 'iterate'): StateBuffers {
  const shared = isShared(s.lab);
  const targets = mode === 'vote' ? 0 : s.targetPixels.length;
  return {
    values: allocArray(Float32Array, s.holePixels.length * 3, shared),
    nnf: allocArray(Int32Array, targets, shared),
    dist: allocArray(Float32Array, targets, shared),
  };
}

/** `dst` with `src` at `offset`; nothing to copy when a tile wrote it there already (runTile's `into`). */
function place<T extends Float32Array | Int32Array>(dst: T, src: T, offset: number): void {
  if (src.buffer === dst.buffer && src.byteOffset === dst.byteOffset + offset * dst.BYTES_PER_ELEMENT) return;
  dst.set(src as ArrayLike<number> & T, offset);
}

/**
 * The values of a level voted from its tiles (for 'vote' results or any results), in `into`'s
 * values when given (results written there by runTile are not copied again).
 */
export function assembleValues(s: LevelStatic, state: LevelState, results: readonly TileResult[], into?: StateBuffers): Float32Array {
  check(s, state, results, false);
  const values = into?.values ?? allocArray(Float32Array, s.holePixels.length * 3, isShared(s.lab));
  for (let k = 0; k < results.length; k++) place(values, results[k].values, s.tileHoleStart[k] * 3);
  return values;
}

/** Median of `dist` without allocating: a scratch copy reused across calls. */
let medianScratch = new Float32Array(0);

/** The state after one iteration (its arrays are `into`'s when given). */
export function assemble(s: LevelStatic, state: LevelState, results: readonly TileResult[], options: PlanOptions, into?: StateBuffers): LevelState {
  check(s, state, results, true);
  const values = assembleValues(s, state, results, into);
  // A level prepared for worker threads gets its states on shared memory too: handing a state to
  // a worker then shares it instead of copying it into every worker's heap each iteration.
  const shared = isShared(s.lab);
  const nnf = into?.nnf ?? allocArray(Int32Array, s.targetPixels.length, shared);
  const dist = into?.dist ?? allocArray(Float32Array, s.targetPixels.length, shared);
  let changed = 0;
  for (let k = 0; k < results.length; k++) {
    place(nnf, results[k].nnf, s.tileTargetStart[k]);
    place(dist, results[k].dist, s.tileTargetStart[k]);
    changed += results[k].changed;
  }
  // Similarity in the next vote is relative to this field's median distance, so the weighting
  // adapts to how well the level matches at all (Wexler et al. use a percentile the same way).
  if (medianScratch.length < dist.length) medianScratch = new Float32Array(dist.length);
  const median = dist.length > 0 ? selectKthInPlace(medianScratch.subarray(0, dist.length), dist, dist.length >> 1) : 0;
  const voteScale = options.similarityScale * Math.max(median, 1e-6);
  return { level: s.level, iteration: state.iteration + 1, values, nnf, dist, voteScale, changed, previousChanged: state.changed, warmup: Math.max(0, state.warmup - 1) };
}

/**
 * The finest level also ends when its churn stops falling while already low: at most this many
 * times the `convergence` bar of pixels changed, and more than in the iteration before. There the
 * proximity prior leaves pixels moving between near-equal sources (t067 at proximity 80: 8-10%
 * of its hole per iteration from the 5th on, never under 4%), so the level ran to maxIterations
 * for little: 10 full-size iterations instead of 6, 25% of the one-thread time. Coarser levels
 * keep the plain rule: they are cheap, and stopping them on a stall too lost small-hole PSNR
 * (docs/architecture.md, Kernel, "Defaults and why").
 */
export const STALL_CEILING = 3;

/**
 * True when the level may stop: enough iterations and few pixels changed in the last one, or
 * (level 0) a stalled churn (STALL_CEILING). Reads only the state's counters, so every caller
 * (in-process driver, kernel nodes, team runs) decides alike from the same state.
 */
export function converged(s: LevelStatic, state: LevelState, options: PlanOptions): boolean {
  if (state.iteration >= options.maxIterations) return true;
  if (state.warmup > 0) return false;
  if (state.iteration < options.minIterations) return false;
  const bar = options.convergence * s.holePixels.length;
  if (state.changed <= bar) return true;
  return s.level === 0 && state.changed <= STALL_CEILING * bar && state.changed > state.previousChanged;
}
