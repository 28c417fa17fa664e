// The kernel node's methods, as plain async functions over the contract's messages (the gRPC
// wiring is in grpc-server.ts). A call prepares its job if the node has not (any node can take
// any call: that is what failover relies on), assembles its starting state from the previous
// step's result blobs, runs its tiles on the worker pool, and stores the results in batches as
// they come in, so storing overlaps computing.
import type { Logger } from 'pino';
import { assertBlobId, blobIdOf, type BlobRef } from '../../common/blob-store.ts';
import { CodedError } from '../../common/errors.ts';
import { assemble, assembleValues, converged } from '../assemble.ts';
import { finish } from '../compose.ts';
import { KernelError } from '../errors.ts';
import { decodeImage, encodeImage } from '../image-io.ts';
import { initFromCoarser, initTopLevel } from '../init-level.ts';
import { donorUnion, maskToBinary } from '../mask.ts';
import type { TileMode } from '../pool-protocol.ts';
import { checkImage } from '../prepare.ts';
import { toShared } from '../shared-memory.ts';
import type { LevelState, LevelStatic, TileResult } from '../types.ts';
import { NodeErrorCode } from '../cluster/status.ts';
import { decodeResultBatch, encodeResultBatch } from '../cluster/result-batch.ts';
import { formatFromWire, jobKeyOf, modeFromWire, modeToWire, optionsToWire, planOptionsOf } from '../cluster/wire.ts';
import type {
  FinishRequest,
  FinishResponse,
  JobSpec,
  LevelSummary,
  PrepareRequest,
  PrepareResponse,
  PreviewRequest,
  PreviewResponse,
  ResultRef,
  StepReport,
  StepRequest,
  StepResponse,
} from '../generated/patchwork/kernel/v1/kernel.ts';
import type { BlobCache } from './blob-cache.ts';
import { CallUsage } from './call-usage.ts';
import { jobBytes, type Acquired, type JobCache, type PreparedJob } from './job-cache.ts';
import type { ResultHints } from './result-hints.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface ServiceDeps {
  nodeId: string;
  pool: WorkerPool;
  cache: BlobCache;
  jobs: JobCache;
  hints: ResultHints;
  log: Logger;
  /** Target size of a result batch blob: a batch is stored as soon as it reaches it. */
  batchBytes: number;
  /** How long a read waits for a peer's push before going to the Object Store. */
  pushWaitMs: number;
}

/** Lets a long call stop between steps when its caller gave up. */
export interface CallControl {
  cancelled(): boolean;
}

const ms = (x: number): number => Math.round(x * 10) / 10;
const badRequest = (message: string): CodedError => new CodedError(NodeErrorCode.badRequest, message);
const badStep = (message: string): CodedError => new CodedError(NodeErrorCode.badStep, message);

/**
 * `assemble` and `assembleValues` read the previous state only for its level and iteration (the
 * next state is a function of the tile results), so a node can assemble from results alone.
 */
function stateShell(level: number, iteration: number): LevelState {
  return { level, iteration, values: new Float32Array(0), nnf: new Int32Array(0), dist: new Float32Array(0), voteScale: 0, changed: 0 };
}

async function readBlob(deps: ServiceDeps, id: string, usage: CallUsage, pushWaitMs = 0): Promise<Uint8Array> {
  const { bytes, hit } = await deps.cache.get(id, pushWaitMs);
  if (hit) usage.cacheHits++;
  else {
    usage.cacheMisses++;
    usage.bytesRead += bytes.length;
  }
  return bytes;
}

async function loadJob(deps: ServiceDeps, key: string, spec: JobSpec, usage: CallUsage): Promise<PreparedJob> {
  const options = planOptionsOf(spec);
  const ids = [spec.imageBlobId, spec.maskBlobId, ...spec.donorBlobIds];
  const blobs = await Promise.all(ids.map((id) => readBlob(deps, id, usage)));
  const t0 = performance.now();
  const decoded = await Promise.all(blobs.map((b, i) => decodeImage(b, i === 0 ? 'image' : i === 1 ? 'mask' : 'donor mask')));
  const [photo, mask, ...donors] = decoded;
  checkImage(photo);
  const hole = maskToBinary(mask, photo.width, photo.height);
  const donor = donorUnion(donors, photo.width, photo.height);
  const image = { width: photo.width, height: photo.height, data: toShared(photo.data, true) };
  usage.kernelMs += performance.now() - t0;
  const { prepared, ms } = await deps.pool.prepare(image, hole, donor, options);
  usage.kernelMs += ms;
  deps.pool.addJob(key, { image, levels: prepared.levels, options });
  deps.log.debug({ jobKey: key, jobId: spec.jobId, levels: prepared.levels.length, ms: Math.round(ms) }, 'prepared job');
  return { key, options, image, plan: prepared.plan, levels: prepared.levels, bytes: jobBytes(image, prepared.levels) };
}

async function acquireJob(deps: ServiceDeps, spec: JobSpec | undefined, usage: CallUsage): Promise<Acquired> {
  if (!spec) throw badRequest('the request has no job: give the job spec (image, mask, options)');
  assertBlobId(spec.imageBlobId);
  assertBlobId(spec.maskBlobId);
  spec.donorBlobIds.forEach(assertBlobId);
  const options = planOptionsOf(spec);
  const key = jobKeyOf(spec, options);
  // Follow the job's pushes from the start: peers may finish a step before this node has prepared.
  deps.hints.follow(key);
  try {
    return await deps.jobs.acquire(key, (k) => loadJob(deps, k, spec, usage));
  } catch (e) {
    if (!deps.jobs.has(key)) deps.hints.unfollow(key);
    throw e;
  }
}

/** The results in `refs`, by tile, checked against what each ref says it holds. */
async function readResults(deps: ServiceDeps, refs: readonly ResultRef[], usage: CallUsage): Promise<TileResult[]> {
  const batches = await Promise.all(
    refs.map(async (ref) => {
      assertBlobId(ref.blobId);
      return { ref, bytes: await readBlob(deps, ref.blobId, usage, deps.pushWaitMs) };
    }),
  );
  const byTile = new Map<number, TileResult>();
  usage.time(() => {
    for (const { ref, bytes } of batches) {
      const results = decodeResultBatch(bytes);
      const tiles = results.map((r) => r.tile);
      if (tiles.length !== ref.tiles.length || tiles.some((t, i) => t !== ref.tiles[i])) {
        throw new KernelError('BAD_DATA', `blob ${ref.blobId} holds tiles ${tiles.join(',')}, its ref says ${ref.tiles.join(',')}`);
      }
      for (const r of results) {
        if (byTile.has(r.tile)) throw new KernelError('BAD_DATA', `tile ${r.tile} appears in two result blobs`);
        byTile.set(r.tile, r);
      }
    }
  });
  const out = [...byTile.values()].sort((a, b) => a.tile - b.tile);
  const first = out[0];
  if (first && out.some((r) => r.level !== first.level || r.iteration !== first.iteration)) {
    throw new KernelError('BAD_DATA', 'the results given are of more than one step');
  }
  return out;
}

function levelOf(job: PreparedJob, level: number): LevelStatic {
  if (job.levels.length === 0) throw badStep('the job has no hole: there is nothing to step; call Finish');
  const s = job.levels[level];
  if (!s) throw badStep(`level ${level} does not exist: the job has levels 0..${job.levels.length - 1}`);
  return s;
}

/** The state a step starts from, from the results of the step before it. */
async function startState(deps: ServiceDeps, job: PreparedJob, req: StepRequest, mode: TileMode, usage: CallUsage): Promise<LevelState> {
  const { levels, options } = job;
  const s = levelOf(job, req.level);
  const top = levels.length - 1;
  let state: LevelState;
  if (req.previous.length === 0) {
    if (req.level !== top || req.iteration !== 0 || mode !== 'iterate') {
      throw badStep(`only the top level's first ITERATE step (level ${top}, iteration 0) starts without previous results`);
    }
    state = usage.time(() => initTopLevel(s, options));
  } else {
    const results = await readResults(deps, req.previous, usage);
    const { level: pl, iteration: pi } = results[0];
    if (req.iteration > 0) {
      if (pl !== req.level || pi !== req.iteration - 1) {
        throw badStep(`step (level ${req.level}, iteration ${req.iteration}) starts from the results of (level ${req.level}, iteration ${req.iteration - 1}), got (level ${pl}, iteration ${pi})`);
      }
      state = usage.time(() => assemble(s, stateShell(pl, pi), results, options));
    } else {
      if (pl !== req.level + 1) throw badStep(`level ${req.level}'s first step starts from the last results of level ${req.level + 1}, got level ${pl}`);
      const coarse = levels[pl];
      state = usage.time(() => {
        const coarseState = assemble(coarse, stateShell(pl, pi), results, options);
        if (!converged(coarse, coarseState, options)) throw badStep(`level ${pl} has not converged after iteration ${pi}: it needs more steps before level ${req.level}`);
        return initFromCoarser(s, coarse, coarseState, options);
      });
    }
  }
  const done = converged(s, state, options);
  if (mode === 'iterate' && done) throw badStep(`level ${req.level} converged after ${state.iteration} iterations: its next step is ${req.level === 0 ? 'the VOTE step' : `level ${req.level - 1}'s first step`}`);
  if (mode === 'vote') {
    if (req.level !== 0) throw badStep('only level 0 has a VOTE step');
    if (!done) throw badStep(`level 0 has not converged after ${state.iteration} iterations: ITERATE before the VOTE step`);
  }
  return state;
}

/** Stores tile results in batches of about `batchBytes` as they arrive. */
class ResultBatcher {
  readonly #deps: ServiceDeps;
  readonly #jobKey: string;
  readonly #usage: CallUsage;
  readonly #push: boolean;
  #pending: TileResult[] = [];
  #pendingBytes = 0;
  readonly #stores: Promise<ResultRef>[] = [];

  constructor(deps: ServiceDeps, jobKey: string, usage: CallUsage, push: boolean) {
    this.#deps = deps;
    this.#jobKey = jobKey;
    this.#usage = usage;
    this.#push = push;
  }

  add(r: TileResult): void {
    this.#pending.push(r);
    this.#pendingBytes += r.values.byteLength + r.nnf.byteLength + r.dist.byteLength;
    if (this.#pendingBytes >= this.#deps.batchBytes) this.flush();
  }

  flush(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending.sort((a, b) => a.tile - b.tile);
    this.#pending = [];
    this.#pendingBytes = 0;
    const bytes = this.#usage.time(() => encodeResultBatch(batch));
    // Push to peers first: they get the bytes while the store write is under way.
    if (this.#push) this.#deps.hints.publish(this.#jobKey, blobIdOf(bytes), bytes);
    const tiles = batch.map((r) => r.tile);
    this.#stores.push(
      this.#deps.cache.put(bytes).then((ref) => {
        this.#usage.bytesWritten += bytes.length;
        return { blobId: ref.id, size: ref.size, tiles };
      }),
    );
  }

  /** Every batch stored; refs in tile order. */
  async done(): Promise<ResultRef[]> {
    this.flush();
    const refs = await Promise.all(this.#stores);
    return refs.sort((a, b) => a.tiles[0] - b.tiles[0]);
  }

  /** Waits for stores already started (after a failure), ignoring their errors. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#stores);
  }
}

/**
 * Runs `tiles` of one step. `refs` settles when every batch is stored: a call that goes on to
 * the next step (continue mode) needs only `results` and awaits the stores at the end.
 */
async function runTiles(
  deps: ServiceDeps,
  job: PreparedJob,
  level: number,
  state: LevelState,
  tiles: readonly number[],
  mode: TileMode,
  usage: CallUsage,
  push: boolean,
): Promise<{ results: TileResult[]; refs: Promise<ResultRef[]>; changed: number; tileMs: Record<number, number> }> {
  // On shared memory, every worker reads the state without a copy.
  const stateId = deps.pool.addState(usage.time(() => shareState(state)));
  const batcher = new ResultBatcher(deps, job.key, usage, push);
  const results = new Array<TileResult>(tiles.length);
  const tileMs: Record<number, number> = {};
  let changed = 0;
  let remaining = tiles.length;
  try {
    await Promise.all(
      tiles.map(async (tile, i) => {
        const { result, ms } = await deps.pool.tile(job.key, stateId, level, tile, mode);
        usage.kernelMs += ms;
        tileMs[tile] = Math.round(ms * 100) / 100;
        changed += result.changed;
        results[i] = result;
        batcher.add(result);
        // When only the last tiles are still running, store what is pending now, so the batch
        // left to store after them (on the call's critical path) is small.
        if (--remaining > 0 && remaining <= deps.pool.size) batcher.flush();
      }),
    );
  } catch (e) {
    await batcher.settle();
    throw e;
  } finally {
    deps.pool.dropState(stateId);
  }
  const refs = batcher.done();
  refs.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return { results, refs, changed, tileMs };
}

function shareState(state: LevelState): LevelState {
  return { ...state, values: toShared(state.values, true), nnf: toShared(state.nnf, true), dist: toShared(state.dist, true) };
}

function checkTiles(s: LevelStatic, tiles: readonly number[]): number[] {
  const count = s.tiles.length >> 2;
  if (tiles.length === 0) return Array.from({ length: count }, (_, k) => k);
  const sorted = [...tiles].sort((a, b) => a - b);
  sorted.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= count) throw badRequest(`tile ${t} does not exist: level ${s.level} has tiles 0..${count - 1}`);
    if (i > 0 && sorted[i - 1] === t) throw badRequest(`tile ${t} is listed twice`);
  });
  return sorted;
}

export async function prepareCall(deps: ServiceDeps, req: PrepareRequest): Promise<PrepareResponse> {
  const usage = new CallUsage();
  const acquired = await acquireJob(deps, req.job, usage);
  try {
    const { job } = acquired;
    const levels: LevelSummary[] = job.levels.map((s) => {
      const tileTargets: number[] = [];
      for (let k = 0; k + 1 < s.tileTargetStart.length; k++) tileTargets.push(s.tileTargetStart[k + 1] - s.tileTargetStart[k]);
      return {
        level: s.level,
        width: s.width,
        height: s.height,
        holeCount: s.holePixels.length,
        targetCount: s.targetPixels.length,
        sourceCount: s.sourcePixels.length,
        tileCount: s.tiles.length >> 2,
        tileTargets,
      };
    });
    return {
      width: job.plan.width,
      height: job.plan.height,
      holeCount: job.plan.holeCount,
      levels,
      options: optionsToWire(job.options),
      jobKey: job.key,
      usage: usage.toWire(deps.nodeId),
    };
  } finally {
    acquired.release();
  }
}

export async function stepCall(deps: ServiceDeps, req: StepRequest, control: CallControl): Promise<StepResponse> {
  const usage = new CallUsage();
  const mode = modeFromWire(req.mode);
  if (!mode) throw badRequest('mode must be STEP_MODE_ITERATE or STEP_MODE_VOTE');
  const t0 = performance.now();
  const acquired = await acquireJob(deps, req.job, usage);
  try {
    const { job } = acquired;
    const { levels, options } = job;
    const tAcquired = performance.now();
    let s = levelOf(job, req.level);
    let tiles = checkTiles(s, req.tiles);
    const through = req.continueThroughLevel;
    if (through !== undefined) {
      if (mode !== 'iterate') throw badRequest('continue_through_level goes with ITERATE steps only');
      if (tiles.length !== s.tiles.length >> 2) throw badRequest('continue_through_level needs every tile of the level (leave tiles empty)');
      if (through > req.level) throw badRequest(`continue_through_level ${through} is above the starting level ${req.level}`);
    }
    let state = await startState(deps, job, req, mode, usage);
    const tStarted = performance.now();
    let tTiles = tStarted;
    const reports: StepReport[] = [];
    const stores: Promise<unknown>[] = [];
    for (;;) {
      // Continue mode pushes only its last step's results (below): nobody else reads the others.
      const run = await runTiles(deps, job, s.level, state, tiles, mode, usage, req.pushResults && through === undefined);
      tTiles = performance.now();
      const report: StepReport = { level: s.level, iteration: state.iteration, mode: modeToWire(mode), changed: run.changed, results: [], converged: false, tileMs: run.tileMs };
      stores.push(run.refs.then((refs) => (report.results = refs)));
      reports.push(report);
      if (through === undefined) break;
      const prev = s;
      state = usage.time(() => assemble(prev, state, run.results, options));
      report.converged = converged(s, state, options);
      if (control.cancelled()) throw new CodedError('CANCELLED', 'the caller cancelled the call');
      if (!report.converged) continue;
      if (s.level === through) break;
      const coarse = s;
      const coarseState = state;
      s = levels[s.level - 1];
      const fine = s;
      state = usage.time(() => initFromCoarser(fine, coarse, coarseState, options));
      tiles = checkTiles(s, []);
    }
    await Promise.all(stores);
    if (req.pushResults && through !== undefined) {
      for (const ref of reports[reports.length - 1].results) {
        const bytes = deps.cache.peek(ref.blobId);
        if (bytes) deps.hints.publish(job.key, ref.blobId, bytes);
      }
    }
    const tEnd = performance.now();
    deps.log.debug(
      { level: req.level, iteration: req.iteration, tiles: req.tiles.length, acquireMs: ms(tAcquired - t0), startMs: ms(tStarted - tAcquired), tilesMs: ms(tTiles - tStarted), storeMs: ms(tEnd - tTiles), kernelMs: ms(usage.kernelMs) },
      'step timings',
    );
    return { reports, usage: usage.toWire(deps.nodeId) };
  } finally {
    acquired.release();
  }
}

async function storeOutput(deps: ServiceDeps, bytes: Uint8Array, usage: CallUsage): Promise<BlobRef> {
  const ref = await deps.cache.put(bytes, false);
  usage.bytesWritten += bytes.length;
  return ref;
}

export async function previewCall(deps: ServiceDeps, req: PreviewRequest): Promise<PreviewResponse> {
  const usage = new CallUsage();
  const format = formatFromWire(req.format);
  if (!format) throw badRequest('unknown image format');
  if (req.results.length === 0) throw badRequest('a preview needs the results of a complete step');
  const acquired = await acquireJob(deps, req.job, usage);
  try {
    const { job } = acquired;
    const results = await readResults(deps, req.results, usage);
    const { level, iteration } = results[0];
    const s = levelOf(job, level);
    const values = usage.time(() => assembleValues(s, stateShell(level, iteration), results));
    const { image, ms } = await deps.pool.preview(job.key, level, values);
    usage.kernelMs += ms;
    const t0 = performance.now();
    const encoded = await encodeImage(image, format);
    usage.kernelMs += performance.now() - t0;
    return { preview: await storeOutput(deps, encoded, usage), usage: usage.toWire(deps.nodeId) };
  } finally {
    acquired.release();
  }
}

export async function finishCall(deps: ServiceDeps, req: FinishRequest): Promise<FinishResponse> {
  const usage = new CallUsage();
  const format = formatFromWire(req.format);
  if (!format) throw badRequest('unknown image format');
  const acquired = await acquireJob(deps, req.job, usage);
  try {
    const { job } = acquired;
    let out;
    if (job.levels.length === 0) {
      if (req.votes.length > 0) throw badStep('the job has no hole: Finish takes no votes');
      out = { width: job.image.width, height: job.image.height, data: Uint8Array.from(job.image.data) };
    } else {
      if (req.votes.length === 0) throw badStep('Finish needs the results of level 0\'s VOTE step');
      const results = await readResults(deps, req.votes, usage);
      const { level, iteration } = results[0];
      if (level !== 0 || results.some((r) => r.nnf.length > 0)) throw badStep('Finish takes the results of level 0\'s VOTE step');
      const s0 = job.levels[0];
      out = usage.time(() => finish(job.image, s0, assembleValues(s0, stateShell(0, iteration), results)));
    }
    const t0 = performance.now();
    const encoded = await encodeImage(out, format);
    usage.kernelMs += performance.now() - t0;
    return { result: await storeOutput(deps, encoded, usage), usage: usage.toWire(deps.nodeId) };
  } finally {
    acquired.release();
  }
}
