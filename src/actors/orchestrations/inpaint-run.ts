// One inpaint job's in-memory state while its orchestration runs: status updates (each one a
// StatusSet event, numbered by `rev`), cost accounting from the kernel calls' Usage, the control
// requests it received (pause, resume, accept and future named ones, in arrival order), and the
// preview pump. Pure: everything reaches the world through the context, so a replay rebuilds the
// same state from the history.
import type { OrchestrationContext, RetryPolicy } from '../context.ts';
import { JobActivity, JobEvent, type BlobOutput, type CallUsage, type ControlRequest, type PictureInput, type ResultRefValue } from '../jobs/activities.ts';
import { contentTypeOf, type InpaintJobInput, type JobSummary, type KernelStats } from '../jobs/job-state.ts';
import type { ImageRef } from '../jobs/types.ts';

/** Kernel calls: the cluster client already fails over between nodes; this covers longer outages. */
export const KERNEL_RETRY: Partial<RetryPolicy> = { maxAttempts: 6, firstBackoffMs: 500, backoffCoefficient: 2, maxBackoffMs: 15_000 };
/** Job bookkeeping (KV): a few quick tries. */
export const LOCAL_RETRY: Partial<RetryPolicy> = { maxAttempts: 8, firstBackoffMs: 100, backoffCoefficient: 2, maxBackoffMs: 5_000 };

/** A complete step: what a preview, an accept or the next step starts from. */
export interface CompleteStep {
  level: number;
  iteration: number;
  results: ResultRefValue[];
  state: Uint8Array;
  /** Counts complete steps; previews of older steps never replace newer ones. */
  index: number;
}

/**
 * Handlers for control requests beyond pause/resume/accept: a future feature registers its
 * request type here. A request of an unknown type is recorded in the history (as every event
 * is) and otherwise ignored.
 */
export const CONTROL_HANDLERS: Readonly<Record<string, (run: JobRun, request: ControlRequest) => void>> = {};

export class JobRun {
  readonly ctx: OrchestrationContext;
  readonly input: InpaintJobInput;
  readonly stats: KernelStats = { kernelCpuMs: 0, kernelCalls: 0, blobBytes: 0 };
  rev = 0;
  admitted = false;
  paused = false;
  acceptRequested = false;
  /** Set once the outcome is decided: no status (preview, pause) may follow the final one. */
  finished = false;
  /** Set when a cancel reached the control loop: waits that are not context ops rethrow it. */
  canceled: unknown = undefined;
  lastComplete: CompleteStep | null = null;
  /** The picture size (from Prepare). */
  width = 0;
  height = 0;
  /** The progress shown so far (the estimate may dip when a level converges early; the status never does). */
  #progress = 0;
  #stepCount = 0;
  #shownPreview = -1;
  /** The newest step a preview was asked for (rendering, or waiting to be). */
  #previewAsked = -1;
  /** Kernel ms of step calls since the last preview was asked for, and what the last preview took. */
  #stepMsSincePreview = 0;
  #previewCostMs = 0;
  #previewBusy = false;
  #previewWanted: CompleteStep | null = null;
  #waiters: Array<() => void> = [];

  constructor(ctx: OrchestrationContext, input: InpaintJobInput) {
    this.ctx = ctx;
    this.input = input;
  }

  get jobId(): string {
    return this.input.job.jobId;
  }

  /** Records status fields (one StatusSet event); `rev` numbers them for watchers. */
  status(fields: Partial<JobSummary>): void {
    this.rev++;
    this.ctx.setStatus({ ...fields, rev: this.rev });
  }

  /** Adds a call's cost; `step` marks the step calls previews are budgeted against. */
  account(u: CallUsage, step = false): void {
    if (step) this.#stepMsSincePreview += u.kernelMs;
    this.stats.kernelCpuMs += u.kernelMs;
    this.stats.kernelCalls += 1;
    this.stats.blobBytes += u.blobBytesWritten;
  }

  statsNow(): KernelStats {
    return { kernelCpuMs: Math.round(this.stats.kernelCpuMs * 1000) / 1000, kernelCalls: this.stats.kernelCalls, blobBytes: this.stats.blobBytes };
  }

  // --- control ------------------------------------------------------------------------------

  /** Receives control requests one at a time, in the order they were raised, until the job ends. */
  async followControl(): Promise<void> {
    for (;;) {
      let request: ControlRequest;
      try {
        request = await this.ctx.waitForEvent<ControlRequest>(JobEvent.control);
      } catch (err) {
        // A cancel rejects every wait: hand it to whatever the job waits on outside the context.
        this.canceled = err;
        this.#notify();
        return;
      }
      if (this.finished) return;
      this.#apply(request);
      this.#notify();
    }
  }

  #apply(request: ControlRequest): void {
    const type = typeof request === 'object' && request !== null ? request.type : undefined;
    switch (type) {
      case 'pause':
        if (!this.paused) {
          this.paused = true;
          this.status({ phase: 'paused' });
        }
        return;
      case 'resume':
        if (this.paused) {
          this.paused = false;
          this.status({ phase: this.admitted ? 'running' : 'queued' });
          this.#pumpPreview();
        }
        return;
      case 'accept':
        if (!this.acceptRequested) {
          this.acceptRequested = true;
          this.status({ accepting: true });
        }
        return;
      default: {
        const handler = typeof type === 'string' ? CONTROL_HANDLERS[type] : undefined;
        if (handler) handler(this, request);
      }
    }
  }

  /** Resolves at the next control change (or cancel). */
  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #throwIfCanceled(): void {
    if (this.canceled !== undefined) throw this.canceled;
  }

  /** Holds while paused (no kernel work starts). Accept overrides a pause: it finishes the job. */
  async holdWhilePaused(): Promise<void> {
    for (;;) {
      this.#throwIfCanceled();
      if (!this.paused || this.acceptRequested) return;
      await this.#changed();
    }
  }

  /**
   * The check between steps: true when the client accepted and there is a picture to accept
   * (before the first complete step, accept lets the fill run to it); holds while paused.
   */
  async gate(): Promise<boolean> {
    await this.holdWhilePaused();
    return this.acceptRequested && this.lastComplete !== null;
  }

  // --- steps and previews -------------------------------------------------------------------

  /**
   * A step ran whose results were not stored (a team run's step before its last, with
   * `teamStoreLastStepOnly`): progress only; nothing to preview or accept from it.
   */
  progressed(fields: Partial<JobSummary>): void {
    if (fields.progress !== undefined) fields = { ...fields, progress: (this.#progress = Math.max(this.#progress, fields.progress)) };
    this.status({ ...fields, stats: this.statsNow() });
  }

  /**
   * A step completed: remember it, record progress, and ask for its preview off the critical
   * path when the budget allows (`previewShare`; the first complete step always gets one),
   * unless no hole pixel moved noticeably (`changed` = 0) since the step whose preview was last
   * asked for: that picture is the one already coming. The budget is counted in the kernel ms
   * the calls reported (recorded results), so a replay decides the same.
   */
  completed(step: Omit<CompleteStep, 'index'>, changed: number, fields: Partial<JobSummary>): void {
    const complete: CompleteStep = { ...step, index: this.#stepCount++ };
    this.lastComplete = complete;
    this.progressed(fields);
    const { previews, previewShare } = this.input.settings;
    if (!previews) return;
    if (changed === 0 && this.#previewAsked === complete.index - 1) return;
    const first = this.#previewAsked < 0;
    if (!first && this.#stepMsSincePreview * previewShare < this.#previewCostMs) return;
    this.#stepMsSincePreview = 0;
    this.#previewWanted = complete;
    this.#previewAsked = complete.index;
    this.#pumpPreview();
  }

  /**
   * At most one preview in flight; when it returns, the newest complete step gets the next one
   * (intermediate steps are skipped); none starts while paused. A preview shows only if it is newer than the one shown and
   * the job has not finished, so previews reach the status in order and never after the end.
   */
  #pumpPreview(): void {
    // While paused no kernel call starts, previews included (a team run answering after the
    // pause would otherwise start one): the newest complete step gets its preview on resume.
    // (Jobs recorded without `holdPreviewsWhilePaused` replay as they ran.)
    const held = this.paused && !this.acceptRequested && this.input.settings.holdPreviewsWhilePaused === true;
    if (this.#previewBusy || this.finished || !this.#previewWanted || held) return;
    const step = this.#previewWanted;
    this.#previewWanted = null;
    this.#previewBusy = true;
    const format = this.input.settings.previewFormat;
    this.picture(step, format)
      .then(
        (out) => {
          this.account(out.usage);
          this.#previewCostMs = out.usage.kernelMs;
          if (this.finished || step.index <= this.#shownPreview) return;
          this.#shownPreview = step.index;
          this.status({ preview: this.imageRef(out.blob.id, contentTypeOf(format)), previewStep: { level: step.level, iteration: step.iteration }, stats: this.statsNow() });
        },
        // A failed preview costs the client a picture, not the job.
        () => undefined,
      )
      .finally(() => {
        this.#previewBusy = false;
        this.#pumpPreview();
      });
  }

  /** Renders a complete step at full resolution (a preview, or the accepted result). */
  picture(step: CompleteStep, format: PictureInput['format']): Promise<BlobOutput> {
    const input: PictureInput = { job: this.input.job, rank: 0, tenant: this.input.tenant, format, results: step.results, state: step.state };
    return this.ctx.call<BlobOutput>(JobActivity.preview, input, { retry: KERNEL_RETRY });
  }

  imageRef(id: string, contentType: string): ImageRef {
    return { id, width: this.width, height: this.height, contentType };
  }
}
