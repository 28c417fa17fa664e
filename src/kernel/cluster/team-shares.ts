// How a team run splits each step's tiles among its members: a pure function of the level's
// per-tile work estimate and the team size, so every member computes every share the same way
// without talking (and the client can too). Which member runs which tile never changes results
// (tiles are seeded by (seed, level, iteration, tile) and assembled in tile order); the split only
// decides how evenly the members are loaded.

/**
 * Splits tiles (work estimate per tile) into `parts` sets of about equal work: largest tile
 * first to the lightest set (ties to the lower index; LPT). Deterministic; tiles ascending per set.
 */
export function lptSplit(work: readonly number[], parts: number): number[][] {
  const out: number[][] = Array.from({ length: parts }, () => []);
  const load = new Array<number>(parts).fill(0);
  const order = work.map((_, t) => t).sort((a, b) => work[b] - work[a] || a - b);
  for (const t of order) {
    let best = 0;
    for (let i = 1; i < parts; i++) if (load[i] < load[best]) best = i;
    out[best].push(t);
    load[best] += work[t];
  }
  for (const s of out) s.sort((a, b) => a - b);
  return out;
}

/**
 * The tiles member `index` of a team of `size` runs in a step of a level whose tiles have
 * `tileTargets` target patches each. A member may get no tile (more members than tiles).
 */
export function teamShare(tileTargets: readonly number[], size: number, index: number): number[] {
  if (size <= 1) return tileTargets.map((_, t) => t);
  return lptSplit(tileTargets, size)[index] ?? [];
}

/** Every member's share (index = member) of a team of `size`: `teamShare` for each. */
export function teamShares(tileTargets: readonly number[], size: number): number[][] {
  if (size <= 1) return [tileTargets.map((_, t) => t)];
  return lptSplit(tileTargets, size);
}
