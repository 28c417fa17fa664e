// The activities of the inpaint job: their names and the plain values they take and return.
// Shared by the orchestration (src/actors/orchestrations/inpaint.ts, which must stay pure: this
// file holds types and constants only) and the job dispatcher (kernel-dispatcher.ts), which turns
// each kernel activity into one KernelCluster call.
//
// Outputs are recorded in the job's history (inputs are not), so they are kept small: blob ids,
// counters, the ~100-byte state headers; never pixels.

export const JobActivity = {
  /** How many kernel nodes are live now (recorded: it decides how wide the job runs). */
  nodes: 'kernel.nodes',
  prepare: 'kernel.prepare',
  step: 'kernel.step',
  preview: 'kernel.preview',
  finish: 'kernel.finish',
  /** Ask for a running slot of the tenant (admission). */
  admit: 'job.admit',
  /** Give the slot back and wake the next queued job. */
  release: 'job.release',
} as const;

export type JobActivityName = (typeof JobActivity)[keyof typeof JobActivity];

/** Event names the job waits for. */
export const JobEvent = {
  /** pause / resume / accept and future named requests: one name, so they keep their order. */
  control: 'control',
  /** "a slot may be free": sent by a releasing job to the queued ones. */
  admission: 'admission',
} as const;

export interface ControlRequest {
  /** 'pause' | 'resume' | 'accept', or a future feature's name. */
  type: string;
  [field: string]: unknown;
}

export type KernelMode = 'iterate' | 'vote';
export type OutputFormat = 'png' | 'jpeg' | 'webp';

/** The client-settable options, defaults resolved (what changes output bytes). */
export interface JobKernelOptions {
  patchSize: number;
  seed: number;
  maxIterations: number;
  distance: 'cie76' | 'cie2000';
}

/** What to fill: the kernel's JobSpec in plain values. */
export interface JobSpecValue {
  jobId: string;
  imageBlobId: string;
  maskBlobId: string;
  donorBlobIds: string[];
  options: JobKernelOptions;
}

/** What one kernel call cost, from the node's `Usage`. */
export interface CallUsage {
  kernelMs: number;
  blobBytesRead: number;
  blobBytesWritten: number;
  /** Attempts the cluster client made (failover, retries); 1 normally. */
  attempts: number;
  node: string;
}

export interface ResultRefValue {
  blobId: string;
  size: number;
  tiles: number[];
}

export interface LevelValue {
  level: number;
  width: number;
  height: number;
  holeCount: number;
  targetCount: number;
  tileCount: number;
  tileTargets: number[];
}

export interface NodesOutput {
  live: number;
}

export interface PrepareInput {
  job: JobSpecValue;
  rank: number;
}

export interface PrepareOutput {
  width: number;
  height: number;
  holeCount: number;
  levels: LevelValue[];
  maxIterations: number;
  usage: CallUsage;
}

export interface StepInput {
  job: JobSpecValue;
  rank: number;
  level: number;
  iteration: number;
  mode: KernelMode;
  previous: ResultRefValue[];
  previousState: Uint8Array;
  tiles: number[];
  continueThroughLevel?: number;
  pushResults: boolean;
  advance: boolean;
  nextTiles: number[];
  /** A team run (see TeamSpec in the kernel contract): this call is member `index` of `size`. */
  team?: TeamValue;
}

export interface TeamValue {
  run: string;
  size: number;
  index: number;
  includeVote: boolean;
  budgetTargets: number;
  /** TeamSpec.store_last_step_only: only the run's last step is stored (its report alone lists results). */
  storeLastStepOnly?: boolean;
  /** TeamSpec.live: this member publishes the run's live progress on the job's live subject (the dispatcher names it). */
  live?: LiveValue;
}

export interface LiveValue {
  /** Live previews' format; absent: progress only. */
  previewFormat?: OutputFormat;
  /** LiveSpec.preview_share. */
  previewShare: number;
}

export interface StepReportValue {
  level: number;
  iteration: number;
  mode: KernelMode;
  changed: number;
  results: ResultRefValue[];
  converged: boolean;
  /**
   * Tiles run here and the milliseconds each took (same order). In a team run `results` holds
   * only the results this node stored (the union over the members is the step's durable set),
   * and `tileIds` / `tileMs` every tile of the step.
   */
  tileIds: number[];
  tileMs: number[];
  startState: Uint8Array;
}

export interface StepOutput {
  levelConverged: boolean;
  reports: StepReportValue[];
  usage: CallUsage;
}

export interface PictureInput {
  job: JobSpecValue;
  rank: number;
  /** Whose output it is (the dispatcher records the blob as the tenant's, for downloads). */
  tenant: string;
  format: OutputFormat;
  /** Results of every tile of one complete step, and that step's start-state header. */
  results: ResultRefValue[];
  state: Uint8Array;
}

export interface BlobOutput {
  blob: { id: string; size: number };
  usage: CallUsage;
}

export interface AdmitInput {
  tenant: string;
  jobId: string;
  /** Running jobs the tenant may have at once. */
  cap: number;
}

export interface AdmitOutput {
  admitted: boolean;
  /** 0-based place in the tenant's queue when not admitted. */
  position: number;
}

export interface ReleaseInput {
  tenant: string;
  jobId: string;
}
