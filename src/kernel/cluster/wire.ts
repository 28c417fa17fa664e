// Conversions between the contract's messages and the kernel's own types, shared by node and
// client so both read a message the same way.
import { createHash } from 'node:crypto';
import { resolveOptions, type InpaintOptionsInput } from '../options.ts';
import type { ImageFormat as KernelImageFormat } from '../image-io.ts';
import type { TileMode } from '../pool-protocol.ts';
import type { PlanOptions } from '../types.ts';
import { Distance, ImageFormat, StepMode, type JobSpec, type PlanOptions as WirePlanOptions } from '../generated/patchwork/kernel/v1/kernel.ts';

export function optionsToWire(o: Partial<PlanOptions>): WirePlanOptions {
  return {
    patchSize: o.patchSize,
    seed: o.seed,
    maxIterations: o.maxIterations,
    minIterations: o.minIterations,
    convergence: o.convergence,
    changeThreshold: o.changeThreshold,
    distance: o.distance === 'cie2000' ? Distance.DISTANCE_CIE2000 : o.distance === 'cie76' ? Distance.DISTANCE_CIE76 : Distance.DISTANCE_UNSPECIFIED,
    tileSize: o.tileSize,
    topHoleRadius: o.topHoleRadius,
    confidenceBase: o.confidenceBase,
    similarityScale: o.similarityScale,
    proximity: o.proximity,
  };
}

/** The options a message asks for, as the kernel takes them (unset fields stay unset). */
export function optionsFromWire(w: WirePlanOptions | undefined): InpaintOptionsInput {
  if (!w) return {};
  const out: InpaintOptionsInput = {
    patchSize: w.patchSize,
    seed: w.seed,
    maxIterations: w.maxIterations,
    minIterations: w.minIterations,
    convergence: w.convergence,
    changeThreshold: w.changeThreshold,
    tileSize: w.tileSize,
    topHoleRadius: w.topHoleRadius,
    confidenceBase: w.confidenceBase,
    similarityScale: w.similarityScale,
    proximity: w.proximity,
  };
  if (w.distance === Distance.DISTANCE_CIE2000) out.distance = 'cie2000';
  else if (w.distance === Distance.DISTANCE_CIE76) out.distance = 'cie76';
  return out;
}

/** Fully resolved plan options of a job (kernel defaults filled in, ranges checked). */
export function planOptionsOf(job: JobSpec): PlanOptions {
  return resolveOptions(optionsFromWire(job.options)).plan;
}

/**
 * Identity of a job's prepared data: SHA-256 over its input blob ids and resolved options. Two
 * jobs with the same inputs share it (their results are the same bytes anyway).
 */
export function jobKeyOf(job: JobSpec, options: PlanOptions = planOptionsOf(job)): string {
  const canonical = JSON.stringify({
    image: job.imageBlobId,
    mask: job.maskBlobId,
    donors: job.donorBlobIds,
    options: Object.fromEntries(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : 1))),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export function modeFromWire(m: StepMode): TileMode | null {
  if (m === StepMode.STEP_MODE_ITERATE) return 'iterate';
  if (m === StepMode.STEP_MODE_VOTE) return 'vote';
  return null;
}

export function modeToWire(m: TileMode): StepMode {
  return m === 'vote' ? StepMode.STEP_MODE_VOTE : StepMode.STEP_MODE_ITERATE;
}

export function formatFromWire(f: ImageFormat): KernelImageFormat | null {
  if (f === ImageFormat.IMAGE_FORMAT_UNSPECIFIED || f === ImageFormat.IMAGE_FORMAT_PNG) return 'png';
  if (f === ImageFormat.IMAGE_FORMAT_JPEG) return 'jpeg';
  if (f === ImageFormat.IMAGE_FORMAT_WEBP) return 'webp';
  return null;
}

export function formatToWire(f: KernelImageFormat): ImageFormat {
  return f === 'jpeg' ? ImageFormat.IMAGE_FORMAT_JPEG : f === 'webp' ? ImageFormat.IMAGE_FORMAT_WEBP : ImageFormat.IMAGE_FORMAT_PNG;
}
