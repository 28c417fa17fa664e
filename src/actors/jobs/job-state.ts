// What the inpaint orchestration takes, records and returns, as plain values. Pure (types and
// constants only): the orchestration, the job service and the view fold all read it.
import type { ImageRef, StepOf } from './types.ts';
import type { JobKernelOptions, JobSpecValue, OutputFormat } from './activities.ts';

/** The orchestration's registered name. */
export const INPAINT_ORCHESTRATION = 'inpaint';

/**
 * How the job spreads its work. Recorded in the job's input (not read from the host's config
 * on replay), so a job resumes on another host exactly as it started.
 */
export interface FillSettings {
  /** Most nodes a level is spread over; 0 = every live node. */
  maxNodes: number;
  /** A level is split only when each shard gets at least this many target patches. */
  minShardTargets: number;
  /** Unsplit levels up to this many target patches run all their iterations in one call. */
  soloMaxTargets: number;
  /** Chunks of tiles per node and step: a node that finishes early takes the next chunk. */
  chunksPerNode: number;
  /**
   * Run the levels as team runs (all nodes iterate together, exchanging results among
   * themselves; one activity per node and run): the default. False: the client-driven steps
   * (one activity per chunk of tiles and step). Jobs recorded before the setting existed lack
   * it and replay the client-driven steps they started with. (Team runs were off for jobs while
   * a NATS rolling restart could stall them: a failed result store killed the kernel nodes, see
   * docs/architecture.md.)
   */
  teamRuns?: boolean;
  /** Most target patches a team run covers before the job records it (progress, previews, durability; see runBudget). */
  runTargets: number;
  /**
   * Team runs store only each run's last step (TeamSpec.store_last_step_only): the step the next
   * run starts from, and the only one previews and accept use; the steps before it record
   * progress only. Saves the Object Store writes of every other step. Jobs recorded before the
   * setting existed lack it and replay storing every step, as they ran.
   */
  teamStoreLastStepOnly?: boolean;
  /** Render previews of complete steps while the next ones run. */
  previews: boolean;
  /**
   * Start no preview while the job is paused (the newest complete step gets one on resume), so
   * a paused job starts no kernel call at all. Jobs recorded before the setting existed lack it
   * and replay the previews they started while paused.
   */
  holdPreviewsWhilePaused?: boolean;
  previewFormat: OutputFormat;
  /**
   * Most kernel time previews may take, as a share of the kernel time of the steps (a full-size
   * preview costs about as much as a step chunk): after a preview that took p ms, the next is
   * asked for once the steps since took p / previewShare ms. The first complete step always
   * gets one. 1 = a preview after (nearly) every step.
   */
  previewShare: number;
  /**
   * Team runs publish live progress after every step (TeamSpec.live), with live previews within
   * `livePreviewShare` while someone watches: the job's history records progress per run, the
   * watch shows every step. Jobs recorded before the setting existed lack it and replay without.
   */
  liveProgress?: boolean;
  /** Most kernel time live previews may take, as a share of the run's step time (LiveSpec.preview_share). */
  livePreviewShare?: number;
  /** How often a queued job asks again for a slot, in case a wake-up was lost. */
  admissionPollMs: number;
}

export const DEFAULT_FILL_SETTINGS: Readonly<FillSettings> = Object.freeze({
  maxNodes: 0,
  minShardTargets: 8_000,
  soloMaxTargets: 20_000,
  chunksPerNode: 2,
  teamRuns: true,
  runTargets: 250_000,
  teamStoreLastStepOnly: true,
  previews: true,
  holdPreviewsWhilePaused: true,
  previewFormat: 'jpeg',
  previewShare: 0.5,
  liveProgress: true,
  livePreviewShare: 0.25,
  admissionPollMs: 10_000,
});

export interface InpaintJobInput {
  tenant: string;
  job: JobSpecValue;
  image: ImageRef;
  mask: ImageRef;
  donors: ImageRef[];
  /** The tenant's cap on running jobs when the job was created. */
  cap: number;
  settings: FillSettings;
}

export interface InpaintJobOutput {
  result: ImageRef;
  /** True when the client accepted the picture before the fill converged. */
  accepted: boolean;
}

/** What a job cost so far, from the kernel calls' Usage (events come from the runtime). */
export interface KernelStats {
  kernelCpuMs: number;
  kernelCalls: number;
  blobBytes: number;
}

export type JobPhase = 'queued' | 'running' | 'paused' | 'completed';

/**
 * The job's status fields: the initial summary given at start, then merged from every
 * ctx.setStatus (the runtime keeps the merge in the instance index; watchers fold the same
 * StatusSet events from the history). `rev` counts the orchestration's status updates: it is
 * the job view's version.
 */
export interface JobSummary {
  rev: number;
  phase: JobPhase;
  image: ImageRef;
  mask: ImageRef;
  donors: ImageRef[];
  options: JobKernelOptions;
  progress: number;
  queuePosition?: number | null;
  level?: number;
  levels?: number;
  iteration?: number;
  preview?: ImageRef | null;
  /** The step `preview` shows (level, iterations done): orders it against live previews. Absent in jobs recorded before. */
  previewStep?: StepOf;
  result?: ImageRef;
  accepting?: boolean;
  accepted?: boolean;
  stats?: KernelStats;
}

export function contentTypeOf(format: OutputFormat): string {
  return format === 'jpeg' ? 'image/jpeg' : format === 'webp' ? 'image/webp' : 'image/png';
}
