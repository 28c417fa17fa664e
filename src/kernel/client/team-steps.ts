// What a client makes of a team run's answers: pure (no I/O), so the remote driver and the inpaint
// orchestration (which may import no I/O) read them the same way.
//
// Every member answers one report per step it ran; members agree on every step (they all compute
// the same states) and each lists in `stored` the results it stored itself, durable once it has
// answered. A step's durable results are the union of the members' `stored`, in tile order.

/** The parts of a member's step report this module reads. */
export interface MemberReport<M, R extends { tiles: readonly number[] }> {
  level: number;
  iteration: number;
  mode: M;
  changed: number;
  converged: boolean;
  startState: Uint8Array;
  stored: R[];
}

/** One step of a run as the client records it: what the members agree on, and every tile's results. */
export type TeamStep<M, R extends { tiles: readonly number[] }> = Omit<MemberReport<M, R>, 'stored'> & {
  /** Every tile's results, from the members' own stores, in tile order. */
  results: R[];
};

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The run's steps from its members' reports (index = member); throws when members disagree. */
export function mergeTeamReports<M, R extends { tiles: readonly number[] }>(members: readonly (readonly MemberReport<M, R>[])[]): TeamStep<M, R>[] {
  const lead = members[0];
  for (const [m, reports] of members.entries()) {
    if (reports.length !== lead.length) throw new Error(`team members disagree: member 0 ran ${lead.length} steps, member ${m} ran ${reports.length}`);
  }
  return lead.map((r, i) => {
    for (const [m, reports] of members.entries()) {
      const o = reports[i];
      if (o.level !== r.level || o.iteration !== r.iteration || o.mode !== r.mode || o.converged !== r.converged || o.changed !== r.changed || !sameBytes(o.startState, r.startState)) {
        throw new Error(`team members disagree on step ${i} of the run: member 0 ran level ${r.level} iteration ${r.iteration}, member ${m} level ${o.level} iteration ${o.iteration}`);
      }
    }
    const results = members.flatMap((reports) => reports[i].stored).sort((a, b) => a.tiles[0] - b.tiles[0]);
    return { level: r.level, iteration: r.iteration, mode: r.mode, changed: r.changed, converged: r.converged, startState: r.startState, results };
  });
}

/** The step a fill goes on with after a run whose last step is `last` (`null` after the VOTE step). */
export function stepAfter<M>(last: { level: number; iteration: number; mode: M; converged: boolean }, iterate: M, vote: M): { level: number; iteration: number; mode: M } | null {
  if (last.mode === vote) return null;
  if (!last.converged) return { level: last.level, iteration: last.iteration + 1, mode: iterate };
  if (last.level > 0) return { level: last.level - 1, iteration: 0, mode: iterate };
  return { level: 0, iteration: last.iteration + 1, mode: vote };
}

/** A fill is cut into at least this many team runs (by its work estimate), however small. */
export const MIN_RUNS_PER_FILL = 6;

/**
 * The target patches a team run may cover (TeamSpec.budget_targets): at most `cap`, and at most
 * 1/MIN_RUNS_PER_FILL of the fill's work estimate (every level's targets x max iterations; the
 * fill needs about half of it), so that even a small fill returns to the job several times for
 * progress, previews, pause and accept, and a big one about every `cap` targets (~0.5 s of
 * kernel work on one node at 250 000).
 */
export function runBudget(levelTargets: readonly number[], maxIterations: number, cap: number): number {
  const estimate = levelTargets.reduce((a, t) => a + t * maxIterations, 0);
  return Math.max(1, Math.min(cap, Math.ceil(estimate / MIN_RUNS_PER_FILL)));
}
