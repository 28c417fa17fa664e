// The remote driver's fill as team runs (see docs/architecture.md, "Team runs"): from the top
// level down to level 0's VOTE step, a sequence of runs; each run is one Step call per member
// node, all at once, the members iterating in lockstep among themselves. A run returns after its
// budget of target patches (or at the end of the fill), so progress, previews and durability come
// at run granularity. A member that fails (its node died: the call fails at once) cancels the
// run's other calls, and the run is tried again from its start state on the nodes still live:
// deterministic, so the same bytes.
import { CodedError, isCodedError } from '../../common/errors.ts';
import { StepMode, type JobSpec, type ResultRef, type StepRequest, type StepResponse } from '../generated/patchwork/kernel/v1/kernel.ts';
import type { CallOptions, CallResult, KernelCluster } from './kernel-cluster.ts';
import { mergeTeamReports, stepAfter, type TeamStep } from './team-steps.ts';

export interface TeamFillDeps {
  cluster: KernelCluster;
  job: JobSpec;
  /** Placement of the calls (placement key, spread, deadline). */
  call: CallOptions;
  /** Most members a run has (the job's width); fewer when fewer nodes are live. */
  width: number;
  topLevel: number;
  /** Target patches per run (TeamSpec.budget_targets). */
  runTargets: number;
  /**
   * Only each run's last step is stored (TeamSpec.store_last_step_only): the steps before it
   * come to `onStep` with no results (nothing durable to preview or resume from).
   */
  storeLastStepOnly: boolean;
  /** Tries per run (a failed member fails the try). */
  runAttempts: number;
  account: (r: CallResult<StepResponse>) => StepResponse;
  /** A member's call failed (not cancelled by the run): counted as an attempt. */
  failed: () => void;
  onStep: (step: TeamStep<StepMode, ResultRef>) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One run: every member's call at once; the first failure cancels the others. */
async function runOnce(d: TeamFillDeps, base: Omit<StepRequest, 'job' | 'team'>, run: string, size: number): Promise<StepResponse[]> {
  const abort = new AbortController();
  const calls = Array.from({ length: size }, async (_, index) => {
    try {
      const r = await d.cluster.step(
        { job: d.job, ...base, team: { run, size, index, includeVote: true, budgetTargets: d.runTargets, storeLastStepOnly: d.storeLastStepOnly } },
        // One attempt: a member cannot move to another node on its own (its peers wait for it);
        // the whole run is tried again instead.
        { ...d.call, rank: index, attempts: 1, signal: abort.signal },
      );
      return d.account(r);
    } catch (e) {
      if (!abort.signal.aborted) d.failed();
      abort.abort();
      throw e;
    }
  });
  const settled = await Promise.allSettled(calls);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(isCodedError(s.reason) && s.reason.code === 'CANCELLED'));
  const anyFailed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed ?? anyFailed) throw (failed ?? anyFailed)!.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<StepResponse>).value);
}

/** Runs the fill as team runs; returns level 0's VOTE results and that step's start state (for Finish). */
export async function teamFill(d: TeamFillDeps): Promise<{ votes: ResultRef[]; state: Uint8Array }> {
  let from: { level: number; iteration: number; mode: StepMode } = { level: d.topLevel, iteration: 0, mode: StepMode.STEP_MODE_ITERATE };
  let previous: ResultRef[] = [];
  let previousState: Uint8Array = new Uint8Array(0);
  for (let runNo = 0; ; runNo++) {
    const base = { level: from.level, iteration: from.iteration, mode: from.mode, previous, previousState: Buffer.from(previousState), tiles: [], continueThroughLevel: 0, pushResults: false, advance: false, nextTiles: [] };
    let responses: StepResponse[] | null = null;
    for (let attempt = 1; !responses; attempt++) {
      const size = Math.max(1, Math.min(d.width, d.cluster.nodes.list().length));
      try {
        responses = await runOnce(d, base, `${d.job.jobId}/${runNo}/${attempt}`, size);
      } catch (e) {
        if (!isCodedError(e) || !e.retryable || attempt >= d.runAttempts) throw e;
        if (attempt > 1) await sleep(Math.min(2_000, 50 * 2 ** attempt));
      }
    }
    if (responses.every((r) => r.levelConverged)) {
      // Nothing left in the range from here (cannot happen when the reports are followed).
      throw new CodedError('BAD_STEP', `team run from level ${from.level} iteration ${from.iteration} had nothing to run`);
    }
    const steps = mergeTeamReports(responses.map((r) => r.reports.map((x) => ({ ...x, startState: new Uint8Array(x.startState) }))));
    for (const s of steps) d.onStep(s);
    const last = steps[steps.length - 1];
    if (last.mode === StepMode.STEP_MODE_VOTE) return { votes: last.results, state: last.startState };
    previous = last.results;
    previousState = last.startState;
    from = stepAfter(last, StepMode.STEP_MODE_ITERATE, StepMode.STEP_MODE_VOTE)!;
  }
}
