// Where a fill's wall time goes, by phase (benchmarks: bench:kernel --breakdown). The driver adds
// to it as it goes; it costs one performance.now() per phase boundary, nothing per pixel.

export interface FillClock {
  /** Lab of the image, pyramid, masks, sources, tiles of every level, and the offsets below. */
  prepare: number;
  /** Offset statistics (offsets.ts), inside prepare. */
  offsets: number;
  /** The top level's peel (peel.ts) and its first field. */
  peel: number;
  /** Each finer level's first state, upscaled from the coarser one. */
  upscale: number;
  /** Tile steps of levels too small for workers (one thread whatever the pool). */
  smallTiles: number;
  /** Tile steps of levels the pool spreads, on the calling thread. */
  poolTiles: number;
  /** Waiting for workers once the calling thread found no tile left to claim. */
  poolWait: number;
  /**
   * The rest of a pool run on the calling thread: ordering tiles, posting the run to the workers
   * (a postMessage that, when the scheduler runs the woken worker on this thread's core, blocks for
   * milliseconds), collecting the results.
   */
  dispatch: number;
  /** Assembling states from tile results (median of the field's distances included). */
  assemble: number;
  /** The final RGBA from the last level's values. */
  finish: number;
  /** Wall time of the whole fill. */
  total: number;
}

/** Wall time of each level's iterations (tile steps, waits, assembly), by level number (0 = full size). */
export const levelClock: number[] = [];

export const fillClock: FillClock = { prepare: 0, offsets: 0, peel: 0, upscale: 0, smallTiles: 0, poolTiles: 0, poolWait: 0, dispatch: 0, assemble: 0, finish: 0, total: 0 };

export function resetFillClock(): void {
  for (const k of Object.keys(fillClock) as (keyof FillClock)[]) fillClock[k] = 0;
  levelClock.length = 0;
}
