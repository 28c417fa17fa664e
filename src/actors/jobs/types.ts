// The contract between the inpaint job (src/actors/jobs, src/actors/orchestrations) and its
// callers (the gateway, the CLI). The gateway sees jobs only through `JobService`; how a job
// runs (orchestration, sub-orchestrations per level, kernel nodes) stays behind it.
//
// Every method takes the caller's tenant: a job, upload or blob of another tenant behaves
// exactly as one that does not exist (NOT_FOUND), so ids leak nothing across tenants.

export type JobStatus = 'QUEUED' | 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'FAILED' | 'CANCELED';

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELED'];

export type ColorDistance = 'cie76' | 'cie2000';

/** An image stored as a content-addressed blob (id = SHA-256 hex of the encoded bytes). */
/** A step of the fill: the level and the iterations done on it. */
export interface StepOf {
  level: number;
  iteration: number;
}

export interface ImageRef {
  id: string;
  width: number;
  height: number;
  /** image/png, image/jpeg or image/webp. */
  contentType: string;
}

/** What a client may set; everything else takes the kernel's defaults. */
export interface JobOptionsInput {
  patchSize?: number;
  seed?: number;
  maxIterations?: number;
  distance?: ColorDistance;
}

export interface CreateJobInput {
  /** Ids of the tenant's uploads (see JobService.recordUpload). */
  imageId: string;
  maskId: string;
  donorIds?: string[];
  options?: JobOptionsInput;
  /** The same key from the same tenant returns the existing job instead of a new one. */
  idempotencyKey?: string;
}

/** What a job cost (users of a hosted service pay by compute and storage). */
export interface JobStats {
  kernelCpuMs: number;
  kernelCalls: number;
  events: number;
  blobBytes: number;
}

export interface JobErrorInfo {
  code: string;
  message: string;
}

/** A job as clients see it. `version` grows with every change (ordering, coalescing). */
export interface JobView {
  id: string;
  tenant: string;
  status: JobStatus;
  /** 0..1, monotone. */
  progress: number;
  /** Pyramid level now running (0 = full resolution), once known. */
  level: number | null;
  levels: number | null;
  iteration: number | null;
  createdAt: string;
  updatedAt: string;
  image: ImageRef;
  mask: ImageRef;
  donors: ImageRef[];
  /** The latest full-resolution preview, after the first iteration. */
  preview: ImageRef | null;
  /** The step `preview` shows, when known (not in the GraphQL schema: orders live previews, live-overlay.ts). */
  previewStep?: StepOf | null;
  result: ImageRef | null;
  error: JobErrorInfo | null;
  /** The options the job runs with, defaults resolved. */
  options: Required<JobOptionsInput>;
  stats: JobStats;
  version: number;
}

export interface JobPage {
  items: JobView[];
  /** Pass as `after` for the next page; null on the last page. */
  endCursor: string | null;
  hasNextPage: boolean;
}

/** One row of a job's event history, as Durable Functions shows its history table. */
export interface JobHistoryEntry {
  seq: number;
  type: string;
  time: string;
  summary: string;
}

export interface JobHistoryPage {
  items: JobHistoryEntry[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface JobService {
  /**
   * Records that the tenant uploaded this image (the gateway stored the bytes in the blob store
   * and read its size and type). Only recorded uploads can be used in `create`.
   */
  recordUpload(tenant: string, image: ImageRef): Promise<void>;
  /** null when the tenant never uploaded it. */
  getUpload(tenant: string, id: string): Promise<ImageRef | null>;
  /**
   * Validates the input (sizes match, options in range, blobs exist and belong to the tenant)
   * and starts the job; over the tenant's running cap it waits as QUEUED. Errors are CodedErrors
   * with codes the gateway maps (BAD_USER_INPUT, NOT_FOUND, ...).
   */
  create(tenant: string, input: CreateJobInput): Promise<JobView>;
  /** null when the job does not exist or belongs to another tenant. */
  get(tenant: string, id: string): Promise<JobView | null>;
  list(tenant: string, opts?: { first?: number; after?: string | null; status?: JobStatus | null }): Promise<JobPage>;
  cancel(tenant: string, id: string): Promise<JobView>;
  pause(tenant: string, id: string): Promise<JobView>;
  resume(tenant: string, id: string): Promise<JobView>;
  /** Finish now: the current picture becomes the result at full resolution. */
  accept(tenant: string, id: string): Promise<JobView>;
  /**
   * The current state first, then every change, ending after a terminal state. Reads the job's
   * history from JetStream, so any process can serve any job. A slow consumer gets intermediate
   * states coalesced (the newest wins), never an unbounded buffer; the final state always arrives.
   */
  watch(tenant: string, id: string, opts?: { signal?: AbortSignal }): AsyncIterable<JobView>;
  history(tenant: string, id: string, opts?: { first?: number; after?: string | null }): Promise<JobHistoryPage>;
  /** True when the blob is an upload of this tenant or an output (preview/result) of one of its jobs. */
  ownsBlob(tenant: string, blobId: string): Promise<boolean>;
}
