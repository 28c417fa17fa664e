// The in-process driver: the same steps the distributed path runs, in one process. Levels run
// coarse to fine; each iteration fans a level's tiles out over the calling thread and worker
// threads, assembles the next state in tile order, and reports progress.
import { availableParallelism } from 'node:os';
import { assemble, assembleValues, converged, stateBuffers } from './assemble.ts';
import { finish, preview } from './compose.ts';
import { fillClock, levelClock } from './fill-clock.ts';
import { fillFraction } from './fill-progress.ts';
import { initFromCoarser, initTopLevel } from './init-level.ts';
import { donorUnion, maskToBinary } from './mask.ts';
import { resolveOptions, type InpaintOptionsInput } from './options.ts';
import { inlineExecutor, sharedPool } from './pool.ts';
import type { OffsetTask } from './offsets.ts';
import { applyOffsets, checkImage, prepare } from './prepare.ts';
import { dropRecycled, recycleShared } from './shared-memory.ts';
import type { LevelState, LevelStatic, Progress, RgbaImage, StateBuffers } from './types.ts';

export interface InpaintInput extends InpaintOptionsInput {
  /** Donor masks: source patches come only from where they are set (same rules as the mask). */
  donors?: RgbaImage[];
}

export type ProgressCallback = (progress: Progress) => void;

function staticArrays(s: LevelStatic): (Float32Array | Int32Array | Uint8Array)[] {
  return [s.lab, s.feat, s.targetIndex, s.targetHole, s.validSource, s.holePixels, s.targetPixels, s.targetConfidence];
}

let runCounter = 0;

/** Removes what `mask` marks from `image`. Pixels outside the hole come back unchanged. */
export async function inpaint(image: RgbaImage, mask: RgbaImage, input: InpaintInput = {}, onProgress?: ProgressCallback): Promise<RgbaImage> {
  const start = performance.now();
  const { donors = [], ...rest } = input ?? {};
  const { plan: options, run } = resolveOptions(rest);
  checkImage(image);
  const hole = maskToBinary(mask, image.width, image.height);
  const donor = donorUnion(donors, image.width, image.height);
  const threads = Math.max(1, run.workers ?? availableParallelism());
  // Worker threads are started once per process and kept (unref'd); on a first call they start
  // now and join when ready, overlapping their start-up with prepare and the coarse levels.
  const executor = threads > 1 ? await sharedPool(threads - 1) : inlineExecutor();
  // Shared arrays of this fill to recycle for the next one (none when a preview could still read them).
  const reuse = threads > 1 && !onProgress;
  const owned: (Float32Array | Int32Array | Uint8Array)[] = [];
  try {
    let clock = performance.now();
    const lap = (): number => {
      const now = performance.now();
      const ms = now - clock;
      clock = now;
      return ms;
    };
    // With workers, the offset statistics are taken on one of them while this thread builds the
    // levels and peels the top level (they are first read by the top level's first tile step).
    let offsets = null as Promise<Int32Array> | null;
    const offsetsElsewhere = (task: OffsetTask): boolean => {
      offsets = executor.offsets(task);
      // (awaited after the peel; a failure before then must not go unhandled)
      offsets?.catch(() => undefined);
      return offsets !== null;
    };
    const prepared = prepare(image, hole, donor, options, { shared: threads > 1, lab: (await executor.lab(image, hole)) ?? undefined, offsetsElsewhere: threads > 1 ? offsetsElsewhere : undefined });
    // The last fill's shared arrays that prepare did not take over are let go now; this fill's
    // are recycled at its end when no caller can still read them (no preview to render).
    dropRecycled();
    fillClock.prepare += lap();
    if (reuse) owned.length = 0;
    if (prepared.plan.holeCount === 0) return { width: image.width, height: image.height, data: Uint8Array.from(image.data) };
    const runId = `r${++runCounter}`;
    // A coarser level is let go of once the next finer one has started from it (peak memory
    // sits at the finest level), so this array holds the only references to the levels.
    const levels: (LevelStatic | null)[] = prepared.levels;
    prepared.levels = [];
    const levelCount = levels.length;
    const s0 = levels[0]!;
    // The progress fraction's work estimate (fill-progress.ts): targets per level, kept as the levels are let go of.
    const targetCounts = levels.map((s) => s!.targetPixels.length);
    let state: LevelState | null = null;
    // Tiles write the next state in place (runTile's `into`): no per-tile arrays, no copy in
    // assemble. The buffers of the state before the current one are free again and are reused,
    // so a level's iterations allocate nothing after its first one: garbage that would pile up
    // until a GC (tens of MB at full size) never exists. Values a preview may still read (it can
    // be called after the callback) are the exception: with a progress callback they are new.
    let spare: { values: Float32Array | null; nnf: Int32Array; dist: Float32Array } | null = null;
    for (let l = levelCount - 1; l >= 0; l--) {
      const s = levels[l]!;
      const key = `${runId}/${l}`;
      lap();
      if (state === null) {
        state = initTopLevel(s, options, executor.sharePeel() ?? undefined);
        fillClock.peel += lap();
        if (offsets) {
          // No level has been let go of yet.
          applyOffsets(levels as LevelStatic[], options, await offsets);
          offsets = null;
          fillClock.offsets += lap();
        }
      } else {
        state = initFromCoarser(s, levels[l + 1]!, state, options);
        fillClock.upscale += lap();
      }
      if (reuse && levels[l + 1]) owned.push(...staticArrays(levels[l + 1]!));
      levels[l + 1] = null;
      spare = null;
      const levelStart = performance.now();
      while (!converged(s, state, options)) {
        const into: StateBuffers = spare ? { values: spare.values ?? stateBuffers(s, 'vote').values, nnf: spare.nnf, dist: spare.dist } : stateBuffers(s);
        lap();
        const results = await executor.run(s, key, state, options, 'iterate', into);
        lap();
        const previous = state;
        state = assemble(s, state, results, options, into);
        fillClock.assemble += lap();
        spare = { values: onProgress ? null : previous.values, nnf: previous.nnf, dist: previous.dist };
        const fraction = fillFraction(targetCounts, options.maxIterations, l, state.iteration);
        if (onProgress) {
          const values = state.values;
          onProgress({
            level: l,
            levels: levelCount,
            iteration: state.iteration,
            fraction: l === 0 && converged(s, state, options) ? 1 : fraction,
            pixelsChanged: state.changed,
            holePixels: s.holePixels.length,
            preview: () => preview(image, s0, s, values),
          });
        }
      }
      levelClock[l] = (levelClock[l] ?? 0) + performance.now() - levelStart;
    }
    const into = spare?.values ? { values: spare.values, nnf: new Int32Array(0), dist: new Float32Array(0) } : stateBuffers(s0, 'vote');
    const voted = await executor.run(s0, `${runId}/0`, state!, options, 'vote', into);
    lap();
    const final = assembleValues(s0, state!, voted, into);
    const out = finish(image, s0, final);
    fillClock.finish += lap();
    if (reuse) {
      owned.push(...staticArrays(s0), state!.values, state!.nnf, state!.dist, into.values);
      if (spare) owned.push(spare.nnf, spare.dist);
      recycleShared(owned);
    }
    return out;
  } finally {
    await executor.close();
    fillClock.total += performance.now() - start;
  }
}
