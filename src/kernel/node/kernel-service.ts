// The kernel node's methods, as plain async functions over the contract's messages (the gRPC
// wiring is in grpc-server.ts). A Step assembles its starting state from the previous step's
// result blobs and start-state header, decides by the kernel's own rule whether the level has
// converged (then it runs nothing and says so), and otherwise runs its tiles on the worker pool.
import type { BlobRef } from '../../common/blob-store.ts';
import { CodedError } from '../../common/errors.ts';
import { assemble, assembleValues, converged } from '../assemble.ts';
import { finish } from '../compose.ts';
import { encodeImage } from '../image-io.ts';
import { initFromCoarser } from '../init-level.ts';
import type { LevelStatic, RgbaImage } from '../types.ts';
import { formatFromWire, modeFromWire, modeToWire, optionsToWire } from '../cluster/wire.ts';
import type {
  FinishRequest,
  FinishResponse,
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
import { badRequest, badStep, type CallControl, type ServiceDeps } from './call-context.ts';
import { CallUsage } from './call-usage.ts';
import { acquireJob, levelOf, readResults } from './job-inputs.ts';
import type { PreparedJob } from './job-cache.ts';
import { decodeHeader, encodeHeader } from './state-headers.ts';
import { startState } from './step-start.ts';
import { teamRun } from './team-run.ts';
import { runTiles, storeResults } from './tile-runner.ts';

export type { CallControl, ServiceDeps } from './call-context.ts';

const round = (x: number): number => Math.round(x * 10) / 10;

/** A promise awaited later (Promise.all at the end of the call): never an unhandled rejection meanwhile. */
function observed<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
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
        sourceCount: s.sourceCount,
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
  let mode = modeFromWire(req.mode);
  if (!mode) throw badRequest('mode must be STEP_MODE_ITERATE or STEP_MODE_VOTE');
  const t0 = performance.now();
  const acquired = await acquireJob(deps, req.job, usage);
  try {
    const { job } = acquired;
    const { levels, options } = job;
    const tAcquired = performance.now();
    if (req.team) return await teamRun(deps, job, req, req.team, mode, usage, control);
    let s = levelOf(job, req.level);
    let tiles = checkTiles(s, req.tiles);
    const through = req.continueThroughLevel;
    if (through !== undefined) {
      if (mode !== 'iterate') throw badRequest('continue_through_level goes with ITERATE steps only');
      if (tiles.length !== s.tiles.length >> 2) throw badRequest('continue_through_level needs every tile of the level (leave tiles empty)');
      if (through > req.level) throw badRequest(`continue_through_level ${through} is above the starting level ${req.level}`);
      if (req.advance) throw badRequest('advance does not go with continue_through_level (continue mode moves on by itself)');
    }
    const start = await startState(deps, job, req, mode, usage);
    let state = start.state;
    if (start.converged) {
      if (!req.advance) return { reports: [], usage: usage.toWire(deps.nodeId), levelConverged: true };
      // The level is done: run the step after it instead.
      if (s.level > 0) {
        const coarse = s;
        const coarseState = state;
        s = levels[s.level - 1];
        const fine = s;
        state = usage.time(() => initFromCoarser(fine, coarse, coarseState, options));
      } else {
        mode = 'vote';
      }
      tiles = checkTiles(s, req.nextTiles);
    }
    const stepMode = mode;
    const tStarted = performance.now();
    let tTiles = tStarted;
    const reports: StepReport[] = [];
    const stores: Promise<unknown>[] = [];
    // Continue mode on a one-worker node: the worker runs the steps back to back by itself and
    // hands each step's results over to be stored here meanwhile.
    const inWorker = through !== undefined && deps.pool.size === 1;
    if (inWorker) {
      await deps.pool.runLevels(job.key, state, through, (step) => {
        usage.kernelMs += step.ms;
        const report: StepReport = { level: step.level, iteration: step.iteration, mode: modeToWire(stepMode), changed: step.changed, results: [], converged: step.converged, tileMs: step.tileMs, startState: Buffer.from(step.header), stored: [] };
        stores.push(observed(storeResults(deps, job.key, step.results, usage, false).then((refs) => (report.results = refs))));
        reports.push(report);
      }, control.signal);
      tTiles = performance.now();
    }
    for (; !inWorker; ) {
      // Continue mode pushes only its last step's results (below): nobody else reads the others.
      const run = await runTiles(deps, job, s.level, state, tiles, stepMode, usage, req.pushResults && through === undefined, control.signal);
      tTiles = performance.now();
      const report: StepReport = { level: s.level, iteration: state.iteration, mode: modeToWire(stepMode), changed: run.changed, results: [], converged: false, tileMs: run.tileMs, startState: Buffer.from(encodeHeader(state)), stored: [] };
      stores.push(observed(run.refs.then((refs) => (report.results = refs))));
      reports.push(report);
      if (through === undefined) break;
      const level = s;
      const from = state;
      state = usage.time(() => assemble(level, from, run.results, options));
      report.converged = converged(s, state, options);
      if (control.signal.aborted) throw new CodedError('CANCELLED', 'the caller cancelled the call');
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
    deps.log.debug(
      { level: req.level, iteration: req.iteration, steps: reports.length, tiles: req.tiles.length, acquireMs: round(tAcquired - t0), startMs: round(tStarted - tAcquired), tilesMs: round(tTiles - tStarted), storeMs: round(performance.now() - tTiles), kernelMs: round(usage.kernelMs) },
      'step timings',
    );
    return { reports, usage: usage.toWire(deps.nodeId), levelConverged: false };
  } finally {
    acquired.release();
  }
}

/** The hole values of a complete step (ITERATE or VOTE) from its results and start-state header. */
async function stepValues(deps: ServiceDeps, job: PreparedJob, refs: readonly ResultRef[], headerBytes: Uint8Array, usage: CallUsage): Promise<{ s: LevelStatic; values: Float32Array; vote: boolean }> {
  if (refs.length === 0) throw badRequest('give the results of a complete step');
  if (headerBytes.length === 0) throw badRequest('give the step\'s start_state with its results');
  const results = await readResults(deps, refs, usage);
  const { level, iteration } = results[0];
  const s = levelOf(job, level);
  const header = decodeHeader(headerBytes, level, iteration);
  const values = usage.time(() => assembleValues(s, header, results));
  return { s, values, vote: results.every((r) => r.nnf.length === 0) };
}

async function storeImage(deps: ServiceDeps, image: RgbaImage, format: NonNullable<ReturnType<typeof formatFromWire>>, usage: CallUsage): Promise<BlobRef> {
  const t0 = performance.now();
  const encoded = await encodeImage(image, format);
  usage.kernelMs += performance.now() - t0;
  // Outputs are not read back by nodes: not kept in the cache.
  const ref = await deps.cache.put(encoded, false);
  usage.bytesWritten += encoded.length;
  return ref;
}

export async function previewCall(deps: ServiceDeps, req: PreviewRequest): Promise<PreviewResponse> {
  const usage = new CallUsage();
  const format = formatFromWire(req.format);
  if (!format) throw badRequest('unknown image format');
  const acquired = await acquireJob(deps, req.job, usage);
  try {
    const { job } = acquired;
    const { s, values } = await stepValues(deps, job, req.results, req.state, usage);
    const { image, ms } = await deps.pool.preview(job.key, s.level, values);
    usage.kernelMs += ms;
    return { preview: await storeImage(deps, image, format, usage), usage: usage.toWire(deps.nodeId) };
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
    let out: RgbaImage;
    if (job.levels.length === 0) {
      if (req.votes.length > 0) throw badStep('the job has no hole: Finish takes no votes');
      out = { width: job.image.width, height: job.image.height, data: Uint8Array.from(job.image.data) };
    } else {
      if (req.votes.length === 0) throw badStep("Finish needs the results of level 0's VOTE step");
      const { s, values, vote } = await stepValues(deps, job, req.votes, req.state, usage);
      if (s.level !== 0 || !vote) throw badStep("Finish takes the results of level 0's VOTE step");
      out = usage.time(() => finish(job.image, s, values));
    }
    return { result: await storeImage(deps, out, format, usage), usage: usage.toWire(deps.nodeId) };
  } finally {
    acquired.release();
  }
}
