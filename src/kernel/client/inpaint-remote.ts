// The remote fill driver: a whole fill through kernel nodes, the loop of the in-process driver
// (src/kernel/inpaint.ts) with every step a call. It is what the bench and the tests run, and
// the model the inpaint orchestration follows (each call below becomes an activity).
//
//   Prepare on each node the job will use (in parallel; each builds the pyramid itself);
//   small top levels: one Step that runs all their iterations on one node (continue mode);
//   other levels: per iteration, one Step per shard of tiles (shard i on the job's i-th ranked
//   node), each starting from every result of the step before and its start-state header,
//   until the nodes find the level converged (they decide, by the kernel's rule) and, asked to
//   `advance`, run the next level's first step (or the VOTE step) in the same call;
//   level 0: one VOTE step per shard, then Finish on the first node.
import type { ImageFormat } from '../image-io.ts';
import { formatToWire } from '../cluster/wire.ts';
import { StepMode, type BlobRef, type JobSpec, type PrepareResponse, type ResultRef, type StepRequest, type StepResponse, type Usage } from '../generated/patchwork/kernel/v1/kernel.ts';
import type { CallResult, KernelCluster } from './kernel-cluster.ts';
import { pullChunks, shardCount, splitTiles } from './shards.ts';
import { teamFill } from './team-fill.ts';
import { runBudget } from './team-steps.ts';

export interface RemoteProgress {
  level: number;
  levels: number;
  /** Iterations the level has completed. */
  iteration: number;
  /** Share of the work estimate done (levels x max iterations); 1 once the fill is finished. */
  fraction: number;
  pixelsChanged: number;
  holePixels: number;
  /**
   * The step's results and start-state header: what a preview (or a resumed run) starts from.
   * Empty for a team run's steps before its last with `storeSteps: 'last'` (not stored).
   */
  results: ResultRef[];
  state: Uint8Array;
  /** Renders this state (full resolution) on a node; off the fill's critical path. */
  preview: (format?: ImageFormat) => Promise<BlobRef>;
}

export interface RemoteFillOptions {
  /** Most nodes one level is spread over (default: every live node). */
  maxNodes?: number;
  /** A level is split only when each shard gets at least this many target patches (default 8000). */
  minShardTargets?: number;
  /** Unsplit levels up to this many target patches run all their iterations in one call (default 20000). */
  soloMaxTargets?: number;
  /**
   * Chunks of tiles per node and step (default 2): a node that finishes its chunk early takes
   * the next one, so a node slowed by its neighbours holds a step up by one chunk at most.
   */
  chunksPerNode?: number;
  /**
   * Run the fill as team runs (default true): all nodes iterate every level together, exchanging
   * results among themselves; false: the client drives every step (small levels solo, bigger
   * ones in chunks; the settings above).
   */
  teamRuns?: boolean;
  /** Most target patches a team run covers before it returns to the client (default 250 000; see runBudget). */
  runTargets?: number;
  /**
   * Which steps of a team run are stored: `every` step's results (what previews of any step need),
   * or only each run's `last` (what the next run and Finish start from), saving the Object Store
   * writes of all the others. Default: `every` with `onProgress` (its `results` and `preview`
   * need them), else `last`.
   */
  storeSteps?: 'every' | 'last';
  /** Result encoding (default png). */
  format?: ImageFormat;
  deadlineMs?: number;
  onProgress?: (p: RemoteProgress) => void;
}

export interface RemoteUsage {
  kernelMs: number;
  calls: number;
  attempts: number;
  blobBytesRead: number;
  blobBytesWritten: number;
  cacheHits: number;
  cacheMisses: number;
}

export interface RemoteFillResult {
  result: BlobRef;
  plan: PrepareResponse;
  usage: RemoteUsage;
  /** Nodes that answered at least one call. */
  nodes: string[];
  /** Step calls each node answered. */
  stepsByNode: Record<string, number>;
}

export const REMOTE_FILL_DEFAULTS = { minShardTargets: 8_000, soloMaxTargets: 20_000, chunksPerNode: 2, teamRuns: true, runTargets: 250_000, runAttempts: 6 } as const;

/** Calls each node has outstanding within a step: one running, one waiting there. */
const CALLS_PER_NODE = 2;

/** Per-tile work from the times nodes reported, falling back to target counts for tiles not timed. */
function measuredWork(targets: readonly number[], responses: readonly StepResponse[]): number[] {
  const ms = new Map<number, number>();
  for (const r of responses) for (const [t, v] of Object.entries(r.reports[r.reports.length - 1].tileMs)) ms.set(Number(t), v);
  if (ms.size !== targets.length) return [...targets];
  return targets.map((_, t) => ms.get(t)!);
}

/** Results of every shard of one step, in tile order. */
const allResults = (responses: readonly StepResponse[]): ResultRef[] => responses.flatMap((r) => r.reports[r.reports.length - 1].results).sort((a, b) => a.tiles[0] - b.tiles[0]);

export async function inpaintRemote(cluster: KernelCluster, job: JobSpec, opts: RemoteFillOptions = {}): Promise<RemoteFillResult> {
  const placementKey = job.jobId;
  const minShardTargets = opts.minShardTargets ?? REMOTE_FILL_DEFAULTS.minShardTargets;
  const soloMaxTargets = opts.soloMaxTargets ?? REMOTE_FILL_DEFAULTS.soloMaxTargets;
  const chunksPerNode = Math.max(1, opts.chunksPerNode ?? REMOTE_FILL_DEFAULTS.chunksPerNode);
  const format = formatToWire(opts.format ?? 'png');
  const usage: RemoteUsage = { kernelMs: 0, calls: 0, attempts: 0, blobBytesRead: 0, blobBytesWritten: 0, cacheHits: 0, cacheMisses: 0 };
  const nodes = new Set<string>();
  const stepsByNode: Record<string, number> = {};
  const account = <R extends { usage?: Usage | undefined }>(r: CallResult<R>): R => {
    const u = r.response.usage;
    usage.calls++;
    usage.attempts += r.attempts;
    nodes.add(r.node);
    if ('reports' in r.response) stepsByNode[r.node] = (stepsByNode[r.node] ?? 0) + 1;
    if (u) {
      usage.kernelMs += u.kernelMs;
      usage.blobBytesRead += u.blobBytesRead;
      usage.blobBytesWritten += u.blobBytesWritten;
      usage.cacheHits += u.cacheHits;
      usage.cacheMisses += u.cacheMisses;
    }
    return r.response;
  };
  const live = (await cluster.nodes.waitFor((ns) => ns.length > 0, 10_000)).length;
  const width = Math.max(1, Math.min(opts.maxNodes ?? live, live));
  const call = { placementKey, spread: width, ...(opts.deadlineMs ? { deadlineMs: opts.deadlineMs } : {}) };
  const step = async (req: Omit<StepRequest, 'job'>, rank: number): Promise<StepResponse> => account(await cluster.step({ job, ...req }, { ...call, rank }));

  // Every node builds the pyramid itself, all at once. The fill starts as soon as the first
  // node is ready; a Step reaching another node before its Prepare is done waits for it there.
  const preparing = Array.from({ length: width }, (_, rank) => cluster.prepare({ job }, { ...call, rank }));
  const warmed = Promise.allSettled(preparing.slice(1)).then((rs) => {
    for (const r of rs) if (r.status === 'fulfilled') account(r.value);
  });
  const plan = account(await preparing[0]);
  const finishWith = async (votes: ResultRef[], state: Uint8Array): Promise<RemoteFillResult> => {
    const done = account(await cluster.finish({ job, votes, format, state: Buffer.from(state) }, { ...call, rank: 0 }));
    // A failed warm-up Prepare does not fail the fill: the Steps prepared on demand.
    await warmed;
    return { result: done.result!, plan, usage, nodes: [...nodes], stepsByNode };
  };
  if (plan.holeCount === 0 || plan.levels.length === 0) return finishWith([], new Uint8Array(0));

  const levels = plan.levels;
  const maxIterations = plan.options?.maxIterations ?? 1;
  const work = levels.map((l) => l.targetCount * maxIterations);
  const totalWork = work.reduce((a, b) => a + b, 0);
  let doneWork = 0;
  const shardsOf = (l: number): number => shardCount(levels[l].targetCount, levels[l].tileCount, width, minShardTargets);
  const solo = (l: number): boolean => shardsOf(l) === 1 && levels[l].targetCount <= soloMaxTargets;
  /** A level's tiles in chunks: one per node when not split, else chunksPerNode per node. */
  const chunksOf = (l: number, work: readonly number[] = levels[l].tileTargets): number[][] => {
    const nodes = shardsOf(l);
    return splitTiles(work, nodes === 1 ? 1 : Math.min(levels[l].tileCount, nodes * chunksPerNode));
  };
  /** Runs one step as `chunks` calls over `nodes` nodes, each node pulling the next chunk when free. */
  const wave = (nodes: number, chunks: number[][], request: (tiles: number[], chunk: number) => Omit<StepRequest, 'job'>): Promise<StepResponse[]> =>
    pullChunks(nodes, CALLS_PER_NODE, chunks.length, (c, rank) => step(request(chunks.length === 1 ? [] : chunks[c], c), rank));
  const progress = (level: number, iteration: number, changed: number, results: ResultRef[], state: Uint8Array): void => {
    if (!opts.onProgress) return;
    opts.onProgress({
      level,
      levels: levels.length,
      iteration,
      fraction: Math.min(0.999, (doneWork + (work[level] * iteration) / maxIterations) / totalWork),
      pixelsChanged: changed,
      holePixels: levels[level].holeCount,
      results,
      state,
      preview: async (f: ImageFormat = 'png') => account(await cluster.preview({ job, results, state: Buffer.from(state), format: formatToWire(f) }, { ...call, rank: 0 })).preview!,
    });
  };

  if (opts.teamRuns ?? REMOTE_FILL_DEFAULTS.teamRuns) {
    const { votes, state } = await teamFill({
      cluster,
      job,
      call,
      width,
      topLevel: levels.length - 1,
      runTargets: runBudget(levels.map((l) => l.targetCount), maxIterations, opts.runTargets ?? REMOTE_FILL_DEFAULTS.runTargets),
      runAttempts: REMOTE_FILL_DEFAULTS.runAttempts,
      storeLastStepOnly: (opts.storeSteps ?? (opts.onProgress ? 'every' : 'last')) === 'last',
      account: (r) => account(r),
      failed: () => void usage.attempts++,
      onStep: (st) => {
        if (st.mode === StepMode.STEP_MODE_VOTE) return;
        progress(st.level, st.iteration + 1, st.changed, st.results, st.startState);
        if (st.converged) doneWork += work[st.level];
      },
    });
    return finishWith(votes, state);
  }

  // The step before the next one: its results and start-state header.
  let previous: ResultRef[] = [];
  let previousState: Uint8Array = new Uint8Array(0);
  const ITERATE = StepMode.STEP_MODE_ITERATE;
  const VOTE = StepMode.STEP_MODE_VOTE;
  let next = { level: levels.length - 1, iteration: 0, mode: ITERATE };
  let chunks = chunksOf(next.level);
  for (;;) {
    const { level, iteration, mode } = next;
    if (mode === ITERATE && iteration === 0 && solo(level)) {
      let through = level;
      while (through > 0 && solo(through - 1)) through--;
      // Push the run's last results only when the next level is split over other nodes.
      const pushResults = shardsOf(Math.max(0, through - 1)) > 1;
      const r = await step({ level, iteration: 0, mode, previous, previousState: Buffer.from(previousState), tiles: [], continueThroughLevel: through, pushResults, advance: false, nextTiles: [], team: undefined }, 0);
      for (const report of r.reports) {
        progress(report.level, report.iteration + 1, report.changed, report.results, report.startState);
        if (report.converged) doneWork += work[report.level];
      }
      const last = r.reports[r.reports.length - 1];
      if (!last || last.level !== through || !last.converged) throw new Error(`kernel node stopped at level ${last?.level} iteration ${last?.iteration}, asked to go through level ${through}`);
      previous = last.results;
      previousState = last.startState;
      next = through > 0 ? { level: through - 1, iteration: 0, mode: ITERATE } : { level: 0, iteration: last.iteration + 1, mode: VOTE };
      chunks = chunksOf(next.level);
      continue;
    }
    const nodes = shardsOf(level);
    // The step that follows if this level turns out to have converged: with as many chunks,
    // the nodes are asked to go straight on to it (`advance`), saving a round trip.
    const after = mode === VOTE ? null : level > 0 ? { level: level - 1, mode: ITERATE } : { level: 0, mode: VOTE };
    const afterChunks = after && !(after.mode === ITERATE && solo(after.level)) ? chunksOf(after.level) : null;
    const advance = mode === ITERATE && iteration > 0 && afterChunks !== null && afterChunks.length === chunks.length && shardsOf(after!.level) === nodes;
    // Results other nodes start from are pushed to them; votes go to the first node (Finish).
    const pushResults = nodes > 1 || (afterChunks !== null && after !== null && shardsOf(after.level) > 1);
    const responses = await wave(nodes, chunks, (tiles, c) => ({
      level,
      iteration,
      mode,
      previous,
      previousState: Buffer.from(previousState),
      tiles,
      pushResults,
      advance,
      nextTiles: advance && afterChunks!.length > 1 ? afterChunks![c] : [],
      team: undefined,
    }));
    const convergedAnswers = responses.filter((r) => r.levelConverged).length;
    if (convergedAnswers === responses.length) {
      // The level converged after the previous step; go on with the step after it.
      doneWork += work[level];
      next = after!.mode === VOTE ? { level: 0, iteration, mode: VOTE } : { level: after!.level, iteration: 0, mode: ITERATE };
      chunks = afterChunks ?? chunksOf(next.level);
      continue;
    }
    if (convergedAnswers > 0) throw new Error(`kernel nodes disagree on whether level ${level} converged after ${iteration} iterations`);
    const ran = responses[0].reports[0];
    if (responses.some((r) => r.reports[0].level !== ran.level || r.reports[0].iteration !== ran.iteration || r.reports[0].mode !== ran.mode)) {
      throw new Error(`kernel nodes ran different steps for level ${level} iteration ${iteration}`);
    }
    if (ran.level !== level || ran.mode !== mode) doneWork += work[level]; // they went on to the next step
    if (ran.mode === VOTE) return finishWith(allResults(responses), ran.startState);
    previous = allResults(responses);
    previousState = ran.startState;
    progress(
      ran.level,
      ran.iteration + 1,
      responses.reduce((n, r) => n + r.reports[0].changed, 0),
      previous,
      previousState,
    );
    // Tile costs change little between iterations: balance the next one's chunks by what these took.
    chunks = chunksOf(ran.level, measuredWork(levels[ran.level].tileTargets, responses));
    next = { level: ran.level, iteration: ran.iteration + 1, mode: ITERATE };
  }
}
