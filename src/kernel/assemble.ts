// Step 4, assembly: the next state of a level from its tile results, in tile order. Tiles own
// contiguous ranges of hole and target indices, so this is concatenation plus a few checks.
import { KernelError } from './errors.ts';
import type { LevelState, LevelStatic, PlanOptions, TileResult } from './types.ts';

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
  const v = Float32Array.from(a);
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

/** The values of a level voted from its tiles (for 'vote' results or any results). */
export function assembleValues(s: LevelStatic, state: LevelState, results: readonly TileResult[]): Float32Array {
  check(s, state, results, false);
  const values = new Float32Array(s.holePixels.length * 3);
  for (let k = 0; k < results.length; k++) values.set(results[k].values, s.tileHoleStart[k] * 3);
  return values;
}

/** The state after one iteration. */
export function assemble(s: LevelStatic, state: LevelState, results: readonly TileResult[], options: PlanOptions): LevelState {
  check(s, state, results, true);
  const values = assembleValues(s, state, results);
  const nnf = new Int32Array(s.targetPixels.length);
  const dist = new Float32Array(s.targetPixels.length);
  let changed = 0;
  for (let k = 0; k < results.length; k++) {
    nnf.set(results[k].nnf, s.tileTargetStart[k]);
    dist.set(results[k].dist, s.tileTargetStart[k]);
    changed += results[k].changed;
  }
  // Similarity in the next vote is relative to this field's median distance, so the weighting
  // adapts to how well the level matches at all (Wexler et al. use a percentile the same way).
  const median = dist.length > 0 ? selectKth(dist, dist.length >> 1) : 0;
  const voteScale = options.similarityScale * Math.max(median, 1e-6);
  return { level: s.level, iteration: state.iteration + 1, values, nnf, dist, voteScale, changed, warmup: Math.max(0, state.warmup - 1) };
}

/** True when the level may stop: enough iterations and few pixels changed in the last one. */
export function converged(s: LevelStatic, state: LevelState, options: PlanOptions): boolean {
  if (state.iteration >= options.maxIterations) return true;
  if (state.warmup > 0) return false;
  if (state.iteration < options.minIterations) return false;
  return state.changed <= options.convergence * s.holePixels.length;
}
