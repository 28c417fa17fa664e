// The remote fill driver: a whole fill through kernel nodes, the loop of the in-process driver
// (src/kernel/inpaint.ts) with every step a call. It is what the bench and the tests run, and
// the model the inpaint orchestration follows (each call below becomes an activity).
//
//   Prepare on each node the job will use (in parallel; each builds the pyramid itself);
//   small top levels: one Step that runs all their iterations on one node (continue mode);
//   other levels: per iteration, one Step per shard of tiles (shard i on the job's i-th ranked
//   node), each starting from every result of the step before and its start-state header,
//   until the nodes answer that the level has converged (they decide, by the kernel's rule);
//   level 0: one VOTE step per shard, then Finish on the first node.
import type { ImageFormat } from '../image-io.ts';
import { formatToWire } from '../cluster/wire.ts';
import { StepMode, type BlobRef, type JobSpec, type PrepareResponse, type ResultRef, type StepRequest, type StepResponse, type Usage } from '../generated/patchwork/kernel/v1/kernel.ts';
import type { CallResult, KernelCluster } from './kernel-cluster.ts';
import { shardCount, splitTiles } from './placement.ts';

export interface RemoteProgress {
  level: number;
  levels: number;
  /** Iterations the level has completed. */
  iteration: number;
  /** Share of the work estimate done (levels x max iterations); 1 once the fill is finished. */
  fraction: number;
  pixelsChanged: number;
  holePixels: number;
  /** The step's results and start-state header: what a preview (or a resumed run) starts from. */
  results: ResultRef[];
  state: Uint8Array;
  /** Renders this state (full resolution) on a node; off the fill's critical path. */
  preview: (format?: ImageFormat) => Promise<BlobRef>;
}

export interface RemoteFillOptions {
  /** Most nodes one level is spread over (default: every live node). */
  maxNodes?: number;
  /** A level is split only when each shard gets at least this many target patches (default 2500). */
  minShardTargets?: number;
  /** Unsplit levels up to this many target patches run all their iterations in one call (default 20000). */
  soloMaxTargets?: number;
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

export const REMOTE_FILL_DEFAULTS = { minShardTargets: 2_500, soloMaxTargets: 20_000 } as const;

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
  const call = { placementKey, ...(opts.deadlineMs ? { deadlineMs: opts.deadlineMs } : {}) };
  const step = async (req: Omit<StepRequest, 'job'>, rank: number): Promise<StepResponse> => account(await cluster.step({ job, ...req }, { ...call, rank }));

  const live = (await cluster.nodes.waitFor((ns) => ns.length > 0, 10_000)).length;
  const width = Math.max(1, Math.min(opts.maxNodes ?? live, live));
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

  // The step before the next one: its results and start-state header.
  let previous: ResultRef[] = [];
  let previousState: Uint8Array = new Uint8Array(0);
  let iterations = 0; // of the level last run
  let l = levels.length - 1;
  while (l >= 0) {
    if (solo(l)) {
      let through = l;
      while (through > 0 && solo(through - 1)) through--;
      // Push the run's last results only when the next level is split over other nodes.
      const pushResults = through > 0 && shardsOf(through - 1) > 1;
      const r = await step({ level: l, iteration: 0, mode: StepMode.STEP_MODE_ITERATE, previous, previousState: Buffer.from(previousState), tiles: [], continueThroughLevel: through, pushResults }, 0);
      for (const report of r.reports) {
        progress(report.level, report.iteration + 1, report.changed, report.results, report.startState);
        if (report.converged) doneWork += work[report.level];
      }
      const last = r.reports[r.reports.length - 1];
      if (!last || last.level !== through || !last.converged) throw new Error(`kernel node stopped at level ${last?.level} iteration ${last?.iteration}, asked to go through level ${through}`);
      previous = last.results;
      previousState = last.startState;
      iterations = last.iteration + 1;
      l = through - 1;
      continue;
    }
    let shards = splitTiles(levels[l].tileTargets, shardsOf(l));
    for (let iteration = 0; ; iteration++) {
      const pushResults = shards.length > 1 || shardsOf(Math.max(0, l - 1)) > 1;
      const responses = await Promise.all(
        shards.map((tiles, rank) => step({ level: l, iteration, mode: StepMode.STEP_MODE_ITERATE, previous, previousState: Buffer.from(previousState), tiles: shards.length === 1 ? [] : tiles, pushResults }, rank)),
      );
      const convergedAnswers = responses.filter((r) => r.levelConverged).length;
      if (convergedAnswers === responses.length) {
        if (iteration === 0) throw new Error(`kernel nodes call level ${l} converged before its first step`);
        iterations = iteration;
        break;
      }
      if (convergedAnswers > 0) throw new Error(`kernel nodes disagree on whether level ${l} converged after ${iteration} iterations`);
      previous = allResults(responses);
      previousState = responses[0].reports[0].startState;
      progress(
        l,
        iteration + 1,
        responses.reduce((n, r) => n + r.reports[0].changed, 0),
        previous,
        previousState,
      );
      // Tile costs change little between iterations: balance the next one by what these took.
      if (shards.length > 1) shards = splitTiles(measuredWork(levels[l].tileTargets, responses), shards.length);
    }
    doneWork += work[l];
    l--;
  }

  const voteShards = splitTiles(levels[0].tileTargets, shardsOf(0));
  // Finish runs on the first node: only the other shards' votes need pushing there.
  const votes = await Promise.all(
    voteShards.map((tiles, rank) =>
      step({ level: 0, iteration: iterations, mode: StepMode.STEP_MODE_VOTE, previous, previousState: Buffer.from(previousState), tiles: voteShards.length === 1 ? [] : tiles, pushResults: rank > 0 }, rank),
    ),
  );
  return finishWith(allResults(votes), votes[0].reports[0].startState);
}
