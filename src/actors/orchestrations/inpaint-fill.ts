// The fill itself: the remote driver's order of kernel calls (src/kernel/client/inpaint-remote.ts)
// with every call an activity, so each completed call is recorded once and never runs again.
//
//   Prepare on every node the job uses, at once (each builds the pyramid itself); the fill goes
//   on as soon as the first is ready. Small top levels: one Step running all their iterations
//   on one node. Bigger levels: per iteration, the level's tiles in chunks over the nodes (each
//   node pulls the next chunk when it has a call free), each starting from all results of the
//   step before; nodes decide convergence and, asked to `advance`, run the next level's first
//   step in the same call. Level 0: one VOTE step in chunks, then Finish.
//
// With `settings.teamRuns` (the default) the levels run as team runs instead (inpaint-team.ts):
// all nodes iterate together, one activity per node and run. The client-driven steps below are
// for `teamRuns: false` and for jobs recorded before team runs existed.
//
// Between steps the job checks its controls (pause holds, accept ends the fill with the last
// complete step as the picture); after each step it records progress and asks for a preview.
import { pullChunks, shardCount, splitTiles } from '../../kernel/client/shards.ts';
import { runBudget } from '../../kernel/client/team-steps.ts';
import { fillFraction } from '../../kernel/fill-progress.ts';
import {
  JobActivity,
  type BlobOutput,
  type KernelMode,
  type NodesOutput,
  type PrepareInput,
  type PrepareOutput,
  type ResultRefValue,
  type StepInput,
  type StepOutput,
} from '../jobs/activities.ts';
import { KERNEL_RETRY, LOCAL_RETRY, type JobRun } from './inpaint-run.ts';
import { teamFill } from './inpaint-team.ts';

/** How the fill ended: the result blob, and whether it is an accepted intermediate picture. */
export interface FillOutcome {
  result: BlobOutput['blob'];
  accepted: boolean;
}

/** Calls each node has outstanding within a step: one running, one waiting there. */
const CALLS_PER_NODE = 2;

type StepRequest = Omit<StepInput, 'job' | 'rank'>;

/** Results of every chunk of one step, in tile order. */
const allResults = (responses: readonly StepOutput[]): ResultRefValue[] =>
  responses.flatMap((r) => r.reports[r.reports.length - 1].results).sort((a, b) => a.tiles[0] - b.tiles[0]);

/** Per-tile work from the times nodes reported, falling back to target counts for tiles not timed. */
function measuredWork(targets: readonly number[], responses: readonly StepOutput[]): number[] {
  const ms = new Map<number, number>();
  for (const r of responses) {
    const last = r.reports[r.reports.length - 1];
    for (let i = 0; i < last.tileIds.length; i++) ms.set(last.tileIds[i], last.tileMs[i]);
  }
  if (ms.size !== targets.length) return [...targets];
  return targets.map((_, t) => ms.get(t)!);
}

export async function fill(run: JobRun): Promise<FillOutcome> {
  const { ctx } = run;
  const job = run.input.job;
  const settings = run.input.settings;
  const chunksPerNode = Math.max(1, settings.chunksPerNode);

  const step = async (request: StepRequest, rank: number): Promise<StepOutput> => {
    const out = await ctx.call<StepOutput>(JobActivity.step, { job, rank, ...request } satisfies StepInput, { retry: KERNEL_RETRY });
    run.account(out.usage, true);
    return out;
  };

  await run.holdWhilePaused();
  const { live } = await ctx.call<NodesOutput>(JobActivity.nodes, undefined, { retry: LOCAL_RETRY });
  const width = Math.max(1, Math.min(settings.maxNodes > 0 ? settings.maxNodes : live, live));
  // Every node builds the pyramid itself, all at once; a Step reaching a node before its own
  // Prepare is done waits for it there. A failed warm-up does not fail the job.
  const preparing = Array.from({ length: width }, (_, rank) => ctx.call<PrepareOutput>(JobActivity.prepare, { job, rank } satisfies PrepareInput, { retry: KERNEL_RETRY }));
  const warmed = Promise.allSettled(preparing.slice(1)).then((rs) => {
    for (const r of rs) if (r.status === 'fulfilled') run.account(r.value.usage);
  });
  const plan = await preparing[0];
  run.account(plan.usage);
  run.width = plan.width;
  run.height = plan.height;

  const finishWith = async (votes: ResultRefValue[], state: Uint8Array): Promise<FillOutcome> => {
    const done = await ctx.call<BlobOutput>(JobActivity.finish, { job, rank: 0, tenant: run.input.tenant, format: 'png', results: votes, state }, { retry: KERNEL_RETRY });
    run.account(done.usage);
    await warmed;
    return { result: done.blob, accepted: false };
  };
  const acceptNow = async (): Promise<FillOutcome> => {
    const out = await run.picture(run.lastComplete!, 'png');
    run.account(out.usage);
    return { result: out.blob, accepted: true };
  };
  if (plan.holeCount === 0 || plan.levels.length === 0) return finishWith([], new Uint8Array(0));

  const levels = plan.levels;
  const maxIterations = plan.maxIterations;
  const targetCounts = levels.map((l) => l.targetCount);
  const shardsOf = (l: number): number => shardCount(levels[l].targetCount, levels[l].tileCount, width, settings.minShardTargets);
  const solo = (l: number): boolean => shardsOf(l) === 1 && levels[l].targetCount <= settings.soloMaxTargets;
  const chunksOf = (l: number, w: readonly number[] = levels[l].tileTargets): number[][] => {
    const nodes = shardsOf(l);
    return splitTiles(w, nodes === 1 ? 1 : Math.min(levels[l].tileCount, nodes * chunksPerNode));
  };
  const fraction = (level: number, iteration: number): number => fillFraction(targetCounts, maxIterations, level, iteration);
  const progress = (level: number, iteration: number, changed: number, results: ResultRefValue[], state: Uint8Array): void =>
    run.completed({ level, iteration, results, state }, changed, { level, levels: levels.length, iteration, progress: fraction(level, iteration) });

  /**
   * One step as `chunks` calls over `nodes` nodes, each node pulling the next chunk when free. A
   * pause stops the step between chunks: no new kernel work while paused.
   */
  const wave = (nodes: number, chunks: number[][], request: (tiles: number[], chunk: number) => StepRequest): Promise<StepOutput[]> =>
    pullChunks(nodes, CALLS_PER_NODE, chunks.length, (c, rank) => step(request(chunks.length === 1 ? [] : chunks[c], c), rank), () => run.holdWhilePaused());

  if (settings.teamRuns) {
    const out = await teamFill(run, {
      width,
      topLevel: levels.length - 1,
      runTargets: runBudget(levels.map((l) => l.targetCount), maxIterations, settings.runTargets),
      storeLastStepOnly: settings.teamStoreLastStepOnly === true,
      ...(settings.liveProgress ? { live: { previewShare: settings.livePreviewShare ?? 0.25, ...(settings.previews ? { previewFormat: settings.previewFormat } : {}) } } : {}),
      onStep: (level, iteration, changed, _converged, results, state) => {
        if (results) progress(level, iteration + 1, changed, results, state);
        else run.progressed({ level, levels: levels.length, iteration: iteration + 1, progress: fraction(level, iteration + 1) });
      },
    });
    return out === 'accept' ? acceptNow() : finishWith(out.votes, out.state);
  }

  let previous: ResultRefValue[] = [];
  let previousState: Uint8Array = new Uint8Array(0);
  let next: { level: number; iteration: number; mode: KernelMode } = { level: levels.length - 1, iteration: 0, mode: 'iterate' };
  let chunks = chunksOf(next.level);
  for (;;) {
    if (await run.gate()) return acceptNow();
    const { level, iteration, mode } = next;
    if (mode === 'iterate' && iteration === 0 && solo(level)) {
      let through = level;
      while (through > 0 && solo(through - 1)) through--;
      const pushResults = shardsOf(Math.max(0, through - 1)) > 1;
      const r = await step({ level, iteration: 0, mode, previous, previousState, tiles: [], continueThroughLevel: through, pushResults, advance: false, nextTiles: [] }, 0);
      const last = r.reports[r.reports.length - 1];
      if (!last || last.level !== through || !last.converged) {
        throw new Error(`kernel node stopped at level ${last?.level} iteration ${last?.iteration}, asked to go through level ${through}`);
      }
      previous = last.results;
      previousState = last.startState;
      progress(last.level, last.iteration + 1, last.changed, previous, previousState);
      next = through > 0 ? { level: through - 1, iteration: 0, mode: 'iterate' } : { level: 0, iteration: last.iteration + 1, mode: 'vote' };
      chunks = chunksOf(next.level);
      continue;
    }
    const nodes = shardsOf(level);
    // The step that follows if this level turns out to have converged: with as many chunks,
    // the nodes are asked to go straight on to it (`advance`), saving a round trip.
    const after: { level: number; mode: KernelMode } | null = mode === 'vote' ? null : level > 0 ? { level: level - 1, mode: 'iterate' } : { level: 0, mode: 'vote' };
    const afterChunks = after && !(after.mode === 'iterate' && solo(after.level)) ? chunksOf(after.level) : null;
    const advance = mode === 'iterate' && iteration > 0 && after !== null && afterChunks !== null && afterChunks.length === chunks.length && shardsOf(after.level) === nodes;
    const pushResults = nodes > 1 || (after !== null && afterChunks !== null && shardsOf(after.level) > 1);
    const stepPrevious = previous;
    const stepPreviousState = previousState;
    const responses = await wave(nodes, chunks, (tiles, c) => ({
      level,
      iteration,
      mode,
      previous: stepPrevious,
      previousState: stepPreviousState,
      tiles,
      pushResults,
      advance,
      nextTiles: advance && afterChunks!.length > 1 ? afterChunks![c] : [],
    }));
    const convergedAnswers = responses.filter((r) => r.levelConverged).length;
    if (convergedAnswers === responses.length) {
      // The level converged after the previous step; go on with the step after it.
      next = after!.mode === 'vote' ? { level: 0, iteration, mode: 'vote' } : { level: after!.level, iteration: 0, mode: 'iterate' };
      chunks = afterChunks ?? chunksOf(next.level);
      continue;
    }
    if (convergedAnswers > 0) throw new Error(`kernel nodes disagree on whether level ${level} converged after ${iteration} iterations`);
    const ran = responses[0].reports[0];
    if (responses.some((r) => r.reports[0].level !== ran.level || r.reports[0].iteration !== ran.iteration || r.reports[0].mode !== ran.mode)) {
      throw new Error(`kernel nodes ran different steps for level ${level} iteration ${iteration}`);
    }
    if (ran.mode === 'vote') return finishWith(allResults(responses), ran.startState);
    previous = allResults(responses);
    previousState = ran.startState;
    progress(
      ran.level,
      ran.iteration + 1,
      responses.reduce((n, r) => n + r.reports[0].changed, 0),
      previous,
      previousState,
    );
    chunks = chunksOf(ran.level, measuredWork(levels[ran.level].tileTargets, responses));
    next = { level: ran.level, iteration: ran.iteration + 1, mode: 'iterate' };
  }
}
