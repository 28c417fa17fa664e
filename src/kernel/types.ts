// Data shapes shared by the kernel's steps. Everything a step takes or returns is a plain object
// of numbers and typed arrays, so it can cross a worker_threads boundary as is and be encoded
// into one blob by codec.ts. See docs/architecture.md, "Kernel", for the layout rules.

/** An 8-bit RGBA raster, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Colour distance between patches: CIE76 (Euclidean Lab) or CIEDE2000. */
export type DistanceKind = 'cie76' | 'cie2000';

/** Options a run was planned with: the ones that change output bytes. */
export interface PlanOptions {
  patchSize: number;
  seed: number;
  maxIterations: number;
  minIterations: number;
  /** A level ends when at most this fraction of its hole pixels changed in an iteration. */
  convergence: number;
  /** A hole pixel "changed" when its Lab value moved by more than this (ΔE76). */
  changeThreshold: number;
  distance: DistanceKind;
  tileSize: number;
  /** Width in pixels (at the top level) the hole may keep; the pyramid grows until it fits. */
  topHoleRadius: number;
  /** Voting confidence decays as confidenceBase^-(distance to the hole boundary). */
  confidenceBase: number;
  /** Patch similarity weight exp(-d / (similarityScale * median d)) in voting. */
  similarityScale: number;
  /**
   * Proximity prior: a candidate source costs proximity x (its offset / the level's longer side)
   * per patch pixel on top of its colour distance (squared ΔE), so the nearer of two similar
   * sources wins. 0 turns it off.
   */
  proximity: number;
}

/** One pyramid level's geometry and its tiles (tile i: x0,y0,x1,y1 at 4i..4i+3, end-exclusive). */
export interface LevelPlan {
  level: number;
  width: number;
  height: number;
  holeCount: number;
  targetCount: number;
  sourceCount: number;
  tiles: Int32Array;
}

/** The plan of a run: levels from fine (0) to coarse (levels.length - 1). */
export interface Plan {
  width: number;
  height: number;
  holeCount: number;
  options: PlanOptions;
  levels: LevelPlan[];
}

/**
 * What a level never changes while it runs. Fetched once per level by whoever runs its tiles.
 * Target patches (patches overlapping the hole) and hole pixels are numbered tile by tile, in
 * raster order inside a tile, so a tile's entries are one contiguous range.
 */
export interface LevelStatic {
  level: number;
  width: number;
  height: number;
  /** CIE Lab of every pixel, 3 floats per pixel; hole pixels hold 0 (their values are dynamic). */
  lab: Float32Array;
  /**
   * Texture features of every pixel, 2 bytes (mean |∂L/∂x|, |∂L/∂y| over a small box, quantised;
   * see features.ts), from known pixels only.
   */
  feat: Uint8Array;
  /** Per pixel: the index of the target patch centred there, or -1. */
  targetIndex: Int32Array;
  /** Per target patch: the hole index of its centre, or -1 (see sources.ts, holeIndexAt). */
  targetHole: Int32Array;
  /** Per pixel: 1 if a patch centred there lies inside the image, off the hole and in the donors. */
  validSource: Uint8Array;
  /** Pixel index (y * width + x) of every hole pixel, by hole index. */
  holePixels: Int32Array;
  /** Pixel index of every target patch centre, by target index. */
  targetPixels: Int32Array;
  /** Voting confidence of every target patch (1 on known centres, decaying into the hole). */
  targetConfidence: Float32Array;
  /** Number of valid source centres. */
  sourceCount: number;
  /** Tile rects, as in LevelPlan.tiles. */
  tiles: Int32Array;
  /** tileHoleStart[t]..tileHoleStart[t+1]: hole indices of tile t (length tiles + 1). */
  tileHoleStart: Int32Array;
  /** tileTargetStart[t]..tileTargetStart[t+1]: target indices of tile t (length tiles + 1). */
  tileTargetStart: Int32Array;
  /**
   * The picture's dominant patch offsets on this level, (dx, dy) pairs, strongest first (offset
   * statistics, see offsets.ts); empty on levels whose search does not use them.
   */
  offsets: Int32Array;
}

/**
 * A level's state between iterations: only the hole's current values and the target patches'
 * nearest neighbours, so shipping it costs about the size of the hole.
 */
export interface LevelState {
  level: number;
  /** Iterations completed at this level (0 right after initialisation). */
  iteration: number;
  /** Lab of every hole pixel, 3 floats per hole index. */
  values: Float32Array;
  /** Source patch centre (pixel index) of every target patch. */
  nnf: Int32Array;
  /** Mean squared colour distance per pixel of every target patch to its source; -1 = unknown. */
  dist: Float32Array;
  /** Similarity scale for voting in the next iteration (see similarityScale). */
  voteScale: number;
  /** Hole pixels changed by the last iteration (the level's first state: holeCount). */
  changed: number;
  /** Hole pixels changed by the iteration before the last (holeCount until there was one). */
  previousChanged: number;
  /** Iterations still to run search-only (no vote) before EM proper starts; counts down. */
  warmup: number;
}

/**
 * Full-level arrays a tile step may write its ranges of the next state into (see runTile): the
 * in-process driver allocates them once per iteration, so tiles allocate nothing and assembly
 * copies nothing. Tiles own disjoint ranges, so threads write them side by side.
 */
export interface StateBuffers {
  values: Float32Array;
  nnf: Int32Array;
  dist: Float32Array;
}

/** What one tile step returns: the tile's ranges of the next state, and counts. */
export interface TileResult {
  level: number;
  iteration: number;
  tile: number;
  values: Float32Array;
  nnf: Int32Array;
  dist: Float32Array;
  changed: number;
}

/** Progress after each iteration. `preview()` renders a full-resolution RGBA on demand. */
export interface Progress {
  level: number;
  levels: number;
  iteration: number;
  fraction: number;
  pixelsChanged: number;
  holePixels: number;
  preview: () => RgbaImage;
}
