// The in-process driver: the same steps the distributed path runs, in one process. Levels run
// coarse to fine; each iteration fans a level's tiles out over the calling thread and worker
// threads, assembles the next state in tile order, and reports progress.
import { availableParallelism } from 'node:os';
import { assemble, assembleValues, converged } from './assemble.ts';
import { finish, preview } from './compose.ts';
import { initFromCoarser, initTopLevel } from './init-level.ts';
import { donorUnion, maskToBinary } from './mask.ts';
import { resolveOptions, type InpaintOptionsInput } from './options.ts';
import { inlineExecutor, sharedPool } from './pool.ts';
import { checkImage, prepare } from './prepare.ts';
import type { LevelState, Progress, RgbaImage } from './types.ts';

export interface InpaintInput extends InpaintOptionsInput {
  /** Donor masks: source patches come only from where they are set (same rules as the mask). */
  donors?: RgbaImage[];
}

export type ProgressCallback = (progress: Progress) => void;

let runCounter = 0;

/** Removes what `mask` marks from `image`. Pixels outside the hole come back unchanged. */
export async function inpaint(image: RgbaImage, mask: RgbaImage, input: InpaintInput = {}, onProgress?: ProgressCallback): Promise<RgbaImage> {
  const { donors = [], ...rest } = input ?? {};
  const { plan: options, run } = resolveOptions(rest);
  checkImage(image);
  const hole = maskToBinary(mask, image.width, image.height);
  const donor = donorUnion(donors, image.width, image.height);
  const threads = Math.max(1, run.workers ?? availableParallelism());
  // Worker threads are started once per process and kept (unref'd); on a first call they start
  // now and join when ready, overlapping their start-up with prepare and the coarse levels.
  const executor = threads > 1 ? await sharedPool(threads - 1) : inlineExecutor();
  try {
    const { plan, levels } = prepare(image, hole, donor, options, { shared: threads > 1 });
    if (plan.holeCount === 0) return { width: image.width, height: image.height, data: Uint8Array.from(image.data) };
    const runId = `r${++runCounter}`;
    // Work estimate for the progress fraction: targets x iterations, per level.
    const work = levels.map((s) => s.targetPixels.length * options.maxIterations);
    const totalWork = work.reduce((a, b) => a + b, 0);
    let doneWork = 0;
    let state: LevelState | null = null;
    for (let l = levels.length - 1; l >= 0; l--) {
      const s = levels[l];
      const key = `${runId}/${l}`;
      state = state === null ? initTopLevel(s, options) : initFromCoarser(s, levels[l + 1], state, options);
      while (!converged(s, state, options)) {
        const results = await executor.run(s, key, state, options, 'iterate');
        state = assemble(s, state, results, options);
        const fraction = Math.min(1, (doneWork + (work[l] * state.iteration) / options.maxIterations) / totalWork);
        if (onProgress) {
          const values = state.values;
          onProgress({
            level: l,
            levels: levels.length,
            iteration: state.iteration,
            fraction: l === 0 && converged(s, state, options) ? 1 : fraction,
            pixelsChanged: state.changed,
            holePixels: s.holePixels.length,
            preview: () => preview(image, levels[0], s, values),
          });
        }
      }
      doneWork += work[l];
    }
    const s0 = levels[0];
    const final = assembleValues(s0, state!, await executor.run(s0, `${runId}/0`, state!, options, 'vote'));
    return finish(image, s0, final);
  } finally {
    await executor.close();
  }
}
