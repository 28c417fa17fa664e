// Step 1, prepare: from the decoded image, the hole and the donor area, the plan (levels, sizes,
// tiles) and every level's static data. Pure: no I/O, no randomness.
import { knownLab } from './color.ts';
import { KernelError } from './errors.ts';
import { depthAt, dilateBox, distanceToKnown, type HoleDepth } from './geometry.ts';
import { featureWeight, staticFeatures } from './features.ts';
import { fillClock } from './fill-clock.ts';
import { countSet } from './mask.ts';
import { offsetLevel, runOffsetTask, scaleOffsets, usesOffsets, type OffsetTask } from './offsets.ts';
import { levelPatchSize, patchRadius } from './patch-size.ts';
import { downscale, halfSize, type PyramidLevel } from './pyramid.ts';
import { allocArray } from './shared-memory.ts';
import { tileLevel } from './tiling.ts';
import type { LevelPlan, LevelStatic, Plan, PlanOptions, RgbaImage } from './types.ts';

export interface Prepared {
  plan: Plan;
  /** Static data by level, 0 = full resolution. */
  levels: LevelStatic[];
}

export interface PrepareSettings {
  /** Put the big static arrays on SharedArrayBuffers (for worker threads). */
  shared?: boolean;
  /**
   * Lab of the image already computed by the caller (known pixels; 0 on hole pixels; on shared
   * memory when `shared`): the in-process driver converts it on several threads (knownLab).
   */
  lab?: Float32Array;
  /**
   * Take the offset statistics (default true). The in-process driver passes false and takes them
   * on a worker thread while the calling thread peels the top level (offsetTask, applyOffsets).
   */
  offsets?: boolean;
  /**
   * Takes the offset statistics elsewhere (the in-process driver: on a worker thread): called
   * with their task as soon as the reference level's Lab and sources exist, before the levels
   * are built, so the statistics overlap the rest of prepare; true when it took them (the caller
   * then applies them, applyOffsets, before the top level's first tile step), false to leave them
   * to prepare (as `offsets` says).
   */
  offsetsElsewhere?: (task: OffsetTask) => boolean;
}

export function checkImage(image: RgbaImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new KernelError('BAD_IMAGE', `image size ${width}x${height} is not a positive integer size`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 4) {
    throw new KernelError('BAD_IMAGE', `image data must be RGBA8: ${width * height * 4} bytes for ${width}x${height}, got ${data?.length}`);
  }
}

/** Where a level's source patches may be centred (prepare needs the count before it builds a level). */
export interface LevelSources {
  validSource: Uint8Array;
  sourceCount: number;
}

export function levelSources(level: number, pyr: PyramidLevel, options: PlanOptions, shared: boolean, rows = new Uint8Array(pyr.width * pyr.height)): LevelSources {
  const { width, height, hole, donor } = pyr;
  const n = width * height;
  const r = patchRadius(options, level);
  // A source patch must not touch the hole and must lie inside the donor area, if any.
  let bad = hole;
  if (donor) {
    bad = new Uint8Array(n);
    for (let i = 0; i < n; i++) bad[i] = hole[i] | (donor[i] ^ 1);
  }
  const blocked = dilateBox(bad, width, height, r, rows);
  const validSource = allocArray(Uint8Array, n, shared);
  let sourceCount = 0;
  for (let y = r; y < height - r; y++) {
    for (let x = r; x < width - r; x++) {
      const i = y * width + x;
      if (!blocked[i]) {
        validSource[i] = 1;
        sourceCount++;
      }
    }
  }
  return { validSource, sourceCount };
}

/**
 * Static data of one level; `pyr.lab` must already hold 0 on hole pixels and, for worker
 * threads, live on a SharedArrayBuffer: it is taken over, not copied. `depth` is
 * distanceToKnown(pyr.hole) and `sources` levelSources(...), passed in because prepare needs
 * them first (one transform per level, not two).
 */
export function buildLevel(
  level: number,
  pyr: PyramidLevel,
  options: PlanOptions,
  shared: boolean,
  depth: HoleDepth = distanceToKnown(pyr.hole, pyr.width, pyr.height),
  sources: LevelSources = levelSources(level, pyr, options, shared),
): LevelStatic {
  const { width, height, hole } = pyr;
  const n = width * height;
  const r = patchRadius(options, level);
  const rows = new Uint8Array(n);
  const targets = dilateBox(hole, width, height, r, rows);
  const { validSource, sourceCount } = sources;

  const tiles = tileLevel(targets, width, height, options.tileSize);
  const tileTotal = tiles.length >> 2;
  const holeCount = countSet(hole);
  const targetCount = countSet(targets);
  const targetIndex = allocArray(Int32Array, n, shared).fill(-1);
  const holePixels = allocArray(Int32Array, holeCount, shared);
  const targetPixels = allocArray(Int32Array, targetCount, shared);
  const targetHole = allocArray(Int32Array, targetCount, shared);
  const tileHoleStart = new Int32Array(tileTotal + 1);
  const tileTargetStart = new Int32Array(tileTotal + 1);
  let h = 0;
  let t = 0;
  for (let k = 0; k < tileTotal; k++) {
    tileHoleStart[k] = h;
    tileTargetStart[k] = t;
    const x0 = tiles[4 * k];
    const y0 = tiles[4 * k + 1];
    const x1 = tiles[4 * k + 2];
    const y1 = tiles[4 * k + 3];
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const i = y * width + x;
        // A hole pixel always centres a target patch, so its hole index lives in targetHole.
        if (targets[i]) {
          targetIndex[i] = t;
          targetHole[t] = hole[i] ? h : -1;
          targetPixels[t++] = i;
        }
        if (hole[i]) holePixels[h++] = i;
      }
    }
  }
  tileHoleStart[tileTotal] = h;
  tileTargetStart[tileTotal] = t;

  // Confidence of a target patch: 1 when centred on a known pixel, decaying with the centre's
  // distance into the hole, so votes near the boundary lean on patches that see known context.
  const targetConfidence = allocArray(Float32Array, targetCount, shared);
  for (let k = 0; k < targetCount; k++) {
    const p = targetPixels[k];
    const x = p % width;
    targetConfidence[k] = options.confidenceBase ** -depthAt(depth, x, (p - x) / width);
  }

  // The pyramid's Lab becomes the static Lab as is (no copy: at full size it is the biggest array).
  const lab = pyr.lab;
  // Texture features only where the distance uses them (none at full size: see features.ts).
  const withFeatures = featureWeight(level) > 0;
  const feat = allocArray(Uint8Array, withFeatures ? n * 2 : 0, shared);
  if (withFeatures) staticFeatures(lab, hole, width, height, feat);
  return {
    level,
    width,
    height,
    lab,
    feat,
    targetIndex,
    targetHole,
    validSource,
    holePixels,
    targetPixels,
    targetConfidence,
    sourceCount,
    tiles,
    tileHoleStart,
    tileTargetStart,
    // Set by prepare once every level exists (the statistics come from one level for all).
    offsets: new Int32Array(0),
  };
}

/**
 * Offset statistics (offsets.ts): taken once, on the reference level, and scaled to every level
 * whose search uses them. The task to take them; null when no level uses them.
 */
export function offsetTask(levels: readonly LevelStatic[], options: PlanOptions): OffsetTask | null {
  return taskOf(levels, options, (l) => levels[l]);
}

/** The task from the levels' sizes and the reference level's Lab and sources. */
function taskOf(sizes: readonly { width: number; height: number }[], options: PlanOptions, at: (level: number) => { lab: Float32Array; validSource: Uint8Array; width: number; height: number }): OffsetTask | null {
  const ref = offsetLevel(sizes);
  if (!sizes.some((_, l) => usesOffsets(l, ref))) return null;
  const s = at(ref);
  return { level: ref, lab: s.lab, validSource: s.validSource, width: s.width, height: s.height, r: patchRadius(options, ref), seed: options.seed };
}

/** Sets the offsets of every level that uses them from `found`, the reference level's (runOffsetTask). */
export function applyOffsets(levels: readonly LevelStatic[], options: PlanOptions, found: Int32Array): void {
  const ref = offsetLevel(levels);
  for (const t of levels) {
    if (usesOffsets(t.level, ref)) t.offsets = scaleOffsets(found, ref - t.level, t.width, t.height, patchRadius(options, t.level));
  }
}

function addOffsets(levels: LevelStatic[], options: PlanOptions): void {
  const task = offsetTask(levels, options);
  if (!task) return;
  const t0 = performance.now();
  applyOffsets(levels, options, runOffsetTask(task));
  fillClock.offsets += performance.now() - t0;
}

function levelPlan(s: LevelStatic): LevelPlan {
  return {
    level: s.level,
    width: s.width,
    height: s.height,
    holeCount: s.holePixels.length,
    targetCount: s.targetPixels.length,
    sourceCount: s.sourceCount,
    tiles: s.tiles,
  };
}

/**
 * The pyramid grows until the hole's radius (largest distance from a hole pixel to a known one)
 * is at most options.topHoleRadius, so at the top every hole pixel sits near known context; it
 * stops early when the next level would be smaller than two patches or have no source patch.
 */
export function prepare(image: RgbaImage, hole: Uint8Array, donor: Uint8Array | null, options: PlanOptions, settings: PrepareSettings = {}): Prepared {
  checkImage(image);
  const shared = settings.shared ?? false;
  const { width, height } = image;
  const n = width * height;
  if (hole.length !== n) throw new KernelError('BAD_MASK_SIZE', `hole mask has ${hole.length} pixels, the image ${n}; give a mask of the image's size`);
  if (donor && donor.length !== n) throw new KernelError('BAD_MASK_SIZE', `donor mask has ${donor.length} pixels, the image ${n}; give donor masks of the image's size`);
  const holeCount = countSet(hole);
  if (holeCount === 0) return { plan: { width, height, holeCount: 0, options, levels: [] }, levels: [] };

  // Lab of the known pixels; hole pixels stay 0 (their values are dynamic): no conversion spent
  // on them (three cube roots a pixel make this the costliest part of prepare).
  let lab = settings.lab;
  if (lab && lab.length !== n * 3) throw new KernelError('BAD_DATA', `given Lab has ${lab.length} floats, the image ${n * 3}`);
  if (!lab) {
    lab = allocArray(Float32Array, n * 3, shared);
    knownLab(image.data, hole, 0, 0, n, lab);
  }
  // First the pyramid, each level's hole depth and sources (they decide how deep it goes), then
  // the offsets' task can start elsewhere, then the levels are built.
  let pyr: PyramidLevel = { width, height, lab, hole, donor };
  let depth = distanceToKnown(hole, width, height);
  const pyramid = [{ pyr, depth, sources: levelSources(0, pyr, options, shared), width, height }];
  if (pyramid[0].sources.sourceCount === 0) {
    const why = holeCount === n ? 'the mask covers the whole image' : `no ${options.patchSize}x${options.patchSize} patch of known pixels${donor ? ' inside the donor area' : ''} is left`;
    throw new KernelError('EMPTY_SOURCE', `nothing to fill from: ${why}; shrink the mask${donor ? ', widen the donor area' : ''} or lower the patch size`);
  }
  // The next level must be at least two (coarse) patches on a side.
  const minSide = 2 * levelPatchSize(options, 1);
  for (;;) {
    if (depth.max <= options.topHoleRadius) break;
    if (halfSize(pyr.width) < minSide || halfSize(pyr.height) < minSide) break;
    const next = downscale(pyr, shared);
    const sources = levelSources(pyramid.length, next, options, shared);
    if (sources.sourceCount === 0) break;
    depth = distanceToKnown(next.hole, next.width, next.height);
    pyramid.push({ pyr: next, depth, sources, width: next.width, height: next.height });
    pyr = next;
  }
  let offsetsTaken = settings.offsets === false;
  if (!offsetsTaken && settings.offsetsElsewhere) {
    const task = taskOf(pyramid, options, (l) => ({ lab: pyramid[l].pyr.lab, validSource: pyramid[l].sources.validSource, width: pyramid[l].width, height: pyramid[l].height }));
    offsetsTaken = task === null || settings.offsetsElsewhere(task);
  }
  const levels = pyramid.map((p, l) => buildLevel(l, p.pyr, options, shared, p.depth, p.sources));
  if (!offsetsTaken) addOffsets(levels, options);
  return { plan: { width, height, holeCount, options, levels: levels.map(levelPlan) }, levels };
}
