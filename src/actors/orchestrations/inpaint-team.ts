// The fill as team runs (see docs/architecture.md, "Team runs"), the job's version of
// src/kernel/client/team-fill.ts: from the top level to level 0's VOTE step, a sequence of runs,
// each one `kernel.step` activity per member, all scheduled at once; the members iterate in
// lockstep among themselves and each answers with every step of the run. The job records each
// member's answer (its own stored results), and once all are in, every step of the run: progress
// and previews come per run. Between runs it checks its controls (pause holds; accept ends the
// fill with the last complete step as the picture). With `teamStoreLastStepOnly` (the default for
// new jobs) only each run's last step is stored: the one the next run starts from, and the only
// one previews and accept need (they come per run anyway); the steps before it record progress.
// Watchers see the steps as they happen through live progress instead (`settings.liveProgress`:
// member 0 of each run publishes them, TeamSpec.live; nothing the job records depends on it).
//
// A member whose node dies is tried again by the activity (the cluster client moves it to a live
// node at once; it redoes the run from its start while its peers wait for it, deterministic, so
// the same bytes); after a host crash, members whose answers were recorded are not run again and
// the others rejoin the run (the recorded members' nodes answer their announcements again). If a
// recorded member's node is gone too, a rejoining member computes that member's share itself
// after one wait (--team-wait-ms) and answers as usual: deterministic, so the same bytes, and the
// recorded member already stored its own results, so the union of what is recorded is complete.
import { mergeTeamReports, stepAfter } from '../../kernel/client/team-steps.ts';
import { JobActivity, type KernelMode, type LiveValue, type ResultRefValue, type StepInput, type StepOutput } from '../jobs/activities.ts';
import { KERNEL_RETRY, type JobRun } from './inpaint-run.ts';

export interface TeamFillPlan {
  width: number;
  topLevel: number;
  runTargets: number;
  /** Store only each run's last step (TeamSpec.store_last_step_only). */
  storeLastStepOnly: boolean;
  /** Live progress, published by member 0 of each run (TeamSpec.live); absent: none. */
  live?: LiveValue;
  /**
   * Called for each ITERATE step of a run, in order, once the run is recorded. `results` null:
   * the step's results were not stored (storeLastStepOnly, a step before the run's last), and
   * `changed` counts that step only; for a stored step, `changed` adds up the pixels changed
   * since the stored step before it (the steps in between included).
   */
  onStep: (level: number, iteration: number, changed: number, converged: boolean, results: ResultRefValue[] | null, state: Uint8Array) => void;
}

/** Level 0's VOTE results and start state, or `accept` when the client accepted the picture between runs. */
export async function teamFill(run: JobRun, plan: TeamFillPlan): Promise<{ votes: ResultRefValue[]; state: Uint8Array } | 'accept'> {
  const { ctx } = run;
  const job = run.input.job;
  let from: { level: number; iteration: number; mode: KernelMode } = { level: plan.topLevel, iteration: 0, mode: 'iterate' };
  let previous: ResultRefValue[] = [];
  let previousState: Uint8Array = new Uint8Array(0);
  for (let runNo = 0; ; runNo++) {
    if (await run.gate()) return 'accept';
    const size = plan.width;
    const members = Array.from({ length: size }, async (_, index) => {
      const input: StepInput = {
        job,
        rank: index,
        level: from.level,
        iteration: from.iteration,
        mode: from.mode,
        previous,
        previousState,
        tiles: [],
        continueThroughLevel: 0,
        pushResults: false,
        advance: false,
        nextTiles: [],
        team: {
          run: `${job.jobId}/${runNo}`,
          size,
          index,
          includeVote: true,
          budgetTargets: plan.runTargets,
          ...(plan.storeLastStepOnly ? { storeLastStepOnly: true } : {}),
          ...(plan.live && index === 0 ? { live: plan.live } : {}),
        },
      };
      const out = await ctx.call<StepOutput>(JobActivity.step, input, { retry: KERNEL_RETRY });
      run.account(out.usage, true);
      return out;
    });
    const outputs = await Promise.all(members);
    if (outputs.every((o) => o.levelConverged)) throw new Error(`team run from level ${from.level} iteration ${from.iteration} had nothing to run`);
    const steps = mergeTeamReports(outputs.map((o) => o.reports.map((r) => ({ ...r, stored: r.results }))));
    const last = steps[steps.length - 1];
    let changedSinceStored = 0;
    for (const s of steps) {
      if (s.mode !== 'iterate') continue;
      // Only the last step's results were stored (the others' `results` are empty or partial: a
      // batch that could not be pushed is stored anyway).
      const stored = !plan.storeLastStepOnly || s === last;
      changedSinceStored += s.changed;
      plan.onStep(s.level, s.iteration, stored ? changedSinceStored : s.changed, s.converged, stored ? s.results : null, s.startState);
      if (stored) changedSinceStored = 0;
    }
    if (last.mode === 'vote') return { votes: last.results, state: last.startState };
    previous = last.results;
    previousState = last.startState;
    from = stepAfter(last, 'iterate' as KernelMode, 'vote' as KernelMode)!;
  }
}
