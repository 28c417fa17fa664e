// How far a fill is, 0..1, from where it stands: the work of the levels above (run to the end)
// plus the iterations done on this one, against every level's full budget of iterations. Levels
// that converge early are counted whole once passed, so the figure only grows. The in-process
// fill, the job (from its history) and a team run's live progress (on the node) use this one
// rule, so all give the same number for the same step. (Below 1: the in-process fill reports 1
// itself once level 0 has converged, the job once its result is stored.)

/** The fraction after `iterationsDone` iterations of `level`, with `targetCounts[l]` hole patches on level l. Below 1 until the result exists. */
export function fillFraction(targetCounts: readonly number[], maxIterations: number, level: number, iterationsDone: number): number {
  let total = 0;
  let above = 0;
  for (let l = 0; l < targetCounts.length; l++) {
    const work = targetCounts[l] * maxIterations;
    total += work;
    if (l > level) above += work;
  }
  if (total === 0) return 0;
  return Math.min(0.999, (above + targetCounts[level] * iterationsDone) / total);
}
