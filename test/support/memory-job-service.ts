// An in-memory JobService for unit tests of the GraphQL layer only (resolvers, error mapping,
// limits, subscription fan-out). It runs no job: tests move jobs along with `update()`. Tests of
// the real flow (uploads through results, isolation, two gateways) use the real job service.
import { CodedError } from '../../src/common/errors.ts';
import {
  TERMINAL_JOB_STATUSES,
  type CreateJobInput,
  type ImageRef,
  type JobHistoryPage,
  type JobPage,
  type JobService,
  type JobStatus,
  type JobView,
} from '../../src/actors/jobs/types.ts';

type Listener = (v: JobView) => void;

export class MemoryJobService implements JobService {
  readonly uploads = new Map<string, ImageRef>(); // tenant \0 id
  readonly views = new Map<string, JobView>();
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #keys = new Map<string, string>();
  /** How many upstream watches were opened (fan-out checks). */
  watchCount = 0;
  #next = 1;

  async recordUpload(tenant: string, image: ImageRef): Promise<void> {
    this.uploads.set(`${tenant}\u0000${image.id}`, image);
  }

  async getUpload(tenant: string, id: string): Promise<ImageRef | null> {
    return this.uploads.get(`${tenant}\u0000${id}`) ?? null;
  }

  async create(tenant: string, input: CreateJobInput): Promise<JobView> {
    if (input.idempotencyKey) {
      const existing = this.#keys.get(`${tenant}\u0000${input.idempotencyKey}`);
      if (existing) return this.views.get(existing)!;
    }
    const image = await this.getUpload(tenant, input.imageId);
    const mask = await this.getUpload(tenant, input.maskId);
    if (!image) throw new CodedError('UPLOAD_NOT_FOUND', `upload ${input.imageId} not found`);
    if (!mask) throw new CodedError('UPLOAD_NOT_FOUND', `upload ${input.maskId} not found`);
    if (image.width !== mask.width || image.height !== mask.height) throw new CodedError('BAD_MASK_SIZE', 'mask size differs from the image');
    const patchSize = input.options?.patchSize ?? 7;
    if (patchSize % 2 === 0 || patchSize < 3) throw new CodedError('BAD_OPTION', 'patchSize must be odd and at least 3');
    const now = new Date().toISOString();
    const id = `job${this.#next++}`;
    const view: JobView = {
      id,
      tenant,
      status: 'QUEUED',
      progress: 0,
      level: null,
      levels: null,
      iteration: null,
      createdAt: now,
      updatedAt: now,
      image,
      mask,
      donors: [],
      preview: null,
      result: null,
      error: null,
      options: { patchSize, seed: input.options?.seed ?? 1, maxIterations: input.options?.maxIterations ?? 10, distance: input.options?.distance ?? 'cie76' },
      stats: { kernelCpuMs: 0, kernelCalls: 0, events: 1, blobBytes: 0 },
      version: 1,
    };
    this.views.set(id, view);
    if (input.idempotencyKey) this.#keys.set(`${tenant}\u0000${input.idempotencyKey}`, id);
    return view;
  }

  /** Moves a job along (as the real job would) and notifies watchers. */
  update(id: string, patch: Partial<JobView>): JobView {
    const old = this.views.get(id);
    if (!old) throw new Error(`no job ${id}`);
    const view = { ...old, ...patch, version: old.version + 1, updatedAt: new Date().toISOString() };
    this.views.set(id, view);
    for (const l of this.#listeners.get(id) ?? []) l(view);
    return view;
  }

  async get(tenant: string, id: string): Promise<JobView | null> {
    const v = this.views.get(id);
    return v && v.tenant === tenant ? v : null;
  }

  async list(tenant: string, opts: { first?: number; after?: string | null; status?: JobStatus | null } = {}): Promise<JobPage> {
    const all = [...this.views.values()].filter((v) => v.tenant === tenant && (!opts.status || v.status === opts.status)).reverse();
    const start = opts.after ? all.findIndex((v) => v.id === opts.after) + 1 : 0;
    const items = all.slice(start, start + (opts.first ?? 20));
    const hasNextPage = start + items.length < all.length;
    return { items, hasNextPage, endCursor: items.length ? items[items.length - 1].id : null };
  }

  async #control(tenant: string, id: string, status: JobStatus): Promise<JobView> {
    const v = await this.get(tenant, id);
    if (!v) throw new CodedError('NOT_FOUND', `job ${id} not found`);
    if (TERMINAL_JOB_STATUSES.includes(v.status)) throw new CodedError('JOB_FINISHED', `job ${id} has finished`);
    return this.update(id, { status });
  }

  cancel(tenant: string, id: string): Promise<JobView> {
    return this.#control(tenant, id, 'CANCELED');
  }
  pause(tenant: string, id: string): Promise<JobView> {
    return this.#control(tenant, id, 'PAUSED');
  }
  resume(tenant: string, id: string): Promise<JobView> {
    return this.#control(tenant, id, 'RUNNING');
  }
  accept(tenant: string, id: string): Promise<JobView> {
    return this.#control(tenant, id, 'COMPLETED');
  }

  async *watch(tenant: string, id: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<JobView> {
    const first = await this.get(tenant, id);
    if (!first) throw new CodedError('NOT_FOUND', `job ${id} not found`);
    this.watchCount++;
    let pending: JobView | null = first;
    let wake: (() => void) | null = null;
    const listener: Listener = (v) => {
      pending = v;
      wake?.();
    };
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, (set = new Set()));
    set.add(listener);
    const onAbort = () => wake?.();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (opts.signal?.aborted) return;
        if (pending) {
          const v: JobView = pending;
          pending = null;
          yield v;
          if (TERMINAL_JOB_STATUSES.includes(v.status)) return;
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      set.delete(listener);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async history(tenant: string, id: string): Promise<JobHistoryPage> {
    const v = await this.get(tenant, id);
    if (!v) throw new CodedError('NOT_FOUND', `job ${id} not found`);
    return { items: [{ seq: 1, type: 'Started', time: v.createdAt, summary: 'inpaint started' }], endCursor: null, hasNextPage: false };
  }

  async ownsBlob(tenant: string, blobId: string): Promise<boolean> {
    if (this.uploads.has(`${tenant}\u0000${blobId}`)) return true;
    for (const v of this.views.values()) if (v.tenant === tenant && (v.preview?.id === blobId || v.result?.id === blobId)) return true;
    return false;
  }
}
