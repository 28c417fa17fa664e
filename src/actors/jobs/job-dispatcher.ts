// The inpaint job's activity dispatcher: each kernel activity is one KernelCluster call (the job
// id as placement key, so a job's calls keep to the same nodes and their warm caches; the shard
// as rank; the runtime's deadline and abort signal passed on), the job activities are the
// admission and the outputs registry. Failures leave as CodedErrors whose `retryable` tells the
// runtime whether to try again: kernel input errors (BAD_MASK, EMPTY_SOURCE, ...) are final;
// unreachable, busy or draining nodes are retried (the cluster client fails over first).
import { CodedError, isCodedError } from '../../common/errors.ts';
import { isTransient } from '../../common/nats.ts';
import {
  ImageFormat,
  StepMode,
  formatToWire,
  optionsToWire,
  type CallOptions as KernelCallOptions,
  type CallResult,
  type JobSpec,
  type KernelCluster,
  type ResultRef,
  type StepReport,
  type TeamSpec,
  type Usage,
} from '../../kernel/client/index.ts';
import type { ActivityRequest, Dispatcher } from '../dispatcher.ts';
import { unknownActivity } from '../errors.ts';
import {
  JobActivity,
  type AdmitInput,
  type BlobOutput,
  type CallUsage,
  type JobSpecValue,
  type NodesOutput,
  type PictureInput,
  type PrepareInput,
  type PrepareOutput,
  type ReleaseInput,
  type ResultRefValue,
  type StepInput,
  type StepOutput,
  type StepReportValue,
  type TeamValue,
} from './activities.ts';
import type { Admission } from './admission.ts';
import type { TenantBlobRegistry } from './blob-registry.ts';
import type { JobMetrics } from './job-metrics.ts';

/** Tries of an output registration per activity attempt (backoff 100 ms doubling to 2 s: ~20 s). */
const OUTPUT_REGISTRY_ATTEMPTS = 14;

export interface JobDispatcherOptions {
  cluster: KernelCluster;
  admission: Admission;
  /** Previews and results by tenant (what `ownsBlob` checks). */
  outputs: TenantBlobRegistry<{ jobId: string }>;
  /** Attempts the cluster client makes per activity attempt (failover inside one attempt). */
  attempts?: number;
  /** How long `kernel.nodes` waits for a first live node. Default 10 s. */
  noNodeWaitMs?: number;
  metrics?: JobMetrics;
  /** Names the job's live subject (TeamSpec.live). */
  liveSubject: (jobId: string) => string;
}

export function toJobSpec(job: JobSpecValue): JobSpec {
  return { jobId: job.jobId, imageBlobId: job.imageBlobId, maskBlobId: job.maskBlobId, donorBlobIds: job.donorBlobIds, options: optionsToWire(job.options) };
}

function toTeamSpec(t: TeamValue, liveSubject: string): TeamSpec {
  const { live, ...spec } = t;
  if (!live) return spec;
  return { ...spec, live: { subject: liveSubject, previewShare: live.previewShare, ...(live.previewFormat ? { previewFormat: formatToWire(live.previewFormat) } : {}) } };
}

const toRefs = (refs: readonly ResultRefValue[]): ResultRef[] => refs.map((r) => ({ blobId: r.blobId, size: r.size, tiles: r.tiles }));
const fromRefs = (refs: readonly ResultRef[]): ResultRefValue[] => refs.map((r) => ({ blobId: r.blobId, size: Number(r.size), tiles: [...r.tiles] }));

function usageOf(r: CallResult<{ usage?: Usage | undefined }>): CallUsage {
  const u = r.response.usage;
  return { kernelMs: u?.kernelMs ?? 0, blobBytesRead: Number(u?.blobBytesRead ?? 0), blobBytesWritten: Number(u?.blobBytesWritten ?? 0), attempts: r.attempts, node: r.node };
}

/** A step report as the job records it; in a team run only the results this node stored (see StepReportValue). */
function reportOf(r: StepReport, team: boolean): StepReportValue {
  const tileIds = Object.keys(r.tileMs)
    .map(Number)
    .sort((a, b) => a - b);
  return {
    level: r.level,
    iteration: r.iteration,
    mode: r.mode === StepMode.STEP_MODE_VOTE ? 'vote' : 'iterate',
    changed: r.changed,
    results: fromRefs(team ? r.stored : r.results),
    converged: r.converged,
    tileIds,
    tileMs: tileIds.map((t) => r.tileMs[t]),
    startState: new Uint8Array(r.startState),
  };
}

export class JobDispatcher implements Dispatcher {
  readonly #o: JobDispatcherOptions;

  constructor(opts: JobDispatcherOptions) {
    this.#o = opts;
  }

  async dispatch(request: ActivityRequest): Promise<unknown> {
    const stop = this.#o.metrics?.start(request.name);
    try {
      const out = await this.#run(request);
      stop?.('ok');
      return out;
    } catch (err) {
      const e = isCodedError(err) ? err : new CodedError('JOB_ACTIVITY_FAILED', `activity '${request.name}' failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
      stop?.(e.code);
      throw e;
    }
  }

  #callOptions(request: ActivityRequest, rank: number): KernelCallOptions {
    const o: KernelCallOptions = { placementKey: request.placementKey, rank, signal: request.signal };
    if (Number.isFinite(request.deadline)) o.deadline = request.deadline;
    if (this.#o.attempts !== undefined) o.attempts = this.#o.attempts;
    return o;
  }

  /**
   * Records that the tenant may read an output. The kernel work behind it is done: a registry
   * write that fails for a NATS hiccup (a stream electing its leader after a server died) is
   * tried again here, within the attempt's deadline, instead of failing the activity and running
   * the kernel call again.
   */
  async #registerOutput(request: ActivityRequest, tenant: string, blobId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#o.outputs.put(tenant, blobId, { jobId: request.instanceId });
        return;
      } catch (err) {
        const waitMs = Math.min(2_000, 50 * 2 ** attempt);
        if (!isTransient(err) || request.signal.aborted || Date.now() + waitMs >= request.deadline || attempt >= OUTPUT_REGISTRY_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  }

  async #run(request: ActivityRequest): Promise<unknown> {
    const { cluster } = this.#o;
    switch (request.name) {
      case JobActivity.nodes: {
        let live = cluster.nodes.list().length;
        if (live === 0) live = (await cluster.nodes.waitFor((ns) => ns.length > 0, this.#o.noNodeWaitMs ?? 10_000).catch(() => [])).length;
        if (live === 0) throw new CodedError('NO_KERNEL_NODES', `no live kernel node in bucket '${cluster.names.nodeBucket}': start one with \`patchwork kernel\``, { retryable: true });
        return { live } satisfies NodesOutput;
      }
      case JobActivity.prepare: {
        const input = request.input as PrepareInput;
        const r = await cluster.prepare({ job: toJobSpec(input.job) }, this.#callOptions(request, input.rank));
        const p = r.response;
        this.#o.metrics?.usage(usageOf(r));
        return {
          width: p.width,
          height: p.height,
          holeCount: p.holeCount,
          levels: p.levels.map((l) => ({ level: l.level, width: l.width, height: l.height, holeCount: l.holeCount, targetCount: l.targetCount, tileCount: l.tileCount, tileTargets: [...l.tileTargets] })),
          maxIterations: p.options?.maxIterations ?? input.job.options.maxIterations,
          usage: usageOf(r),
        } satisfies PrepareOutput;
      }
      case JobActivity.step: {
        const i = request.input as StepInput;
        const r = await cluster.step(
          {
            job: toJobSpec(i.job),
            level: i.level,
            iteration: i.iteration,
            mode: i.mode === 'vote' ? StepMode.STEP_MODE_VOTE : StepMode.STEP_MODE_ITERATE,
            previous: toRefs(i.previous),
            previousState: Buffer.from(i.previousState),
            tiles: i.tiles,
            continueThroughLevel: i.continueThroughLevel,
            pushResults: i.pushResults,
            advance: i.advance,
            nextTiles: i.nextTiles,
            team: i.team && toTeamSpec(i.team, this.#o.liveSubject(request.instanceId)),
          },
          this.#callOptions(request, i.rank),
        );
        this.#o.metrics?.usage(usageOf(r));
        return { levelConverged: r.response.levelConverged, reports: r.response.reports.map((report) => reportOf(report, i.team !== undefined)), usage: usageOf(r) } satisfies StepOutput;
      }
      case JobActivity.preview:
      case JobActivity.finish: {
        const i = request.input as PictureInput;
        const format = formatToWire(i.format);
        const opts = this.#callOptions(request, i.rank);
        const state = Buffer.from(i.state);
        const job = toJobSpec(i.job);
        let blob;
        let usage: CallUsage;
        if (request.name === JobActivity.preview) {
          const r = await cluster.preview({ job, results: toRefs(i.results), state, format }, opts);
          blob = r.response.preview;
          usage = usageOf(r);
        } else {
          const r = await cluster.finish({ job, votes: toRefs(i.results), state, format: format ?? ImageFormat.IMAGE_FORMAT_PNG }, opts);
          blob = r.response.result;
          usage = usageOf(r);
        }
        if (!blob) throw new CodedError('KERNEL_INTERNAL', `kernel ${request.name} answered without a blob`, { retryable: true });
        this.#o.metrics?.usage(usage);
        // The tenant may download it from now on (previews and results only, never tile data).
        await this.#registerOutput(request, i.tenant, blob.id);
        return { blob: { id: blob.id, size: Number(blob.size) }, usage } satisfies BlobOutput;
      }
      case JobActivity.admit: {
        const i = request.input as AdmitInput;
        return this.#o.admission.admit(i.tenant, i.jobId, i.cap);
      }
      case JobActivity.release: {
        const i = request.input as ReleaseInput;
        await this.#o.admission.release(i.tenant, i.jobId);
        return null;
      }
      default:
        throw unknownActivity(request.name, Object.values(JobActivity));
    }
  }
}
