// The job service: what the gateway and the CLI see of inpaint jobs (the contract is types.ts).
// Jobs are orchestration instances (id = job id, tenant = the caller's tenant); their state is
// read from the instance index (get, list) or folded from their history (watch, history), so any
// process connected to NATS serves any job. Every method takes the caller's tenant, and another
// tenant's job, upload or blob behaves exactly like one that does not exist.
import { createHash, randomUUID } from 'node:crypto';
import { BLOB_ID_PATTERN } from '../../common/blob-store.ts';
import { CodedError } from '../../common/errors.ts';
import { INSTANCE_ID_PATTERN } from '../../common/names.ts';
import { isKernelError, resolveOptions } from '../../kernel/index.ts';
import type { ActorClient, InstanceStatus } from '../client.ts';
import type { ActorHost } from '../host.ts';
import { isTerminalStatus } from '../instance-index.ts';
import { JobEvent, type ControlRequest, type JobKernelOptions } from './activities.ts';
import type { TenantBlobRegistry } from './blob-registry.ts';
import { summarizeEvent } from './job-history.ts';
import { DEFAULT_FILL_SETTINGS, INPAINT_ORCHESTRATION, type FillSettings, type InpaintJobInput, type InpaintJobOutput, type JobSummary } from './job-state.ts';
import { initialSummary, jobView, type JobRecord } from './job-view.ts';
import { watchJob } from './job-watch.ts';
import { assertTenant } from './tenants.ts';
import { TERMINAL_JOB_STATUSES, type CreateJobInput, type ImageRef, type JobHistoryPage, type JobPage, type JobService, type JobStatus, type JobView } from './types.ts';

export interface JobServiceOptions {
  client: ActorClient;
  /** When given, jobs created here are activated in this host at once (else any host claims them). */
  host?: ActorHost;
  uploads: TenantBlobRegistry<ImageRef>;
  outputs: TenantBlobRegistry<{ jobId: string }>;
  /** Running jobs per tenant; more wait as QUEUED. Default 4. */
  tenantRunningCap?: number;
  settings?: Partial<FillSettings>;
  /** How long create waits for the admission decision (RUNNING or QUEUED). Default 2 s. */
  createWaitMs?: number;
  /** How long cancel / pause / resume / accept wait for the job to show the change. Default 10 s. */
  controlWaitMs?: number;
}

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const OPTION_KEYS = new Set(['patchSize', 'seed', 'maxIterations', 'distance']);
const MAX_DONORS = 8;
const MAX_PAGE = 100;

const notFound = (id: string) => new CodedError('JOB_NOT_FOUND', `job '${id}' not found.`, { details: { id } });
const badInput = (code: string, message: string) => new CodedError(code, message);
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function assertImageRef(image: ImageRef): void {
  const ok =
    image &&
    typeof image.id === 'string' &&
    BLOB_ID_PATTERN.test(image.id) &&
    Number.isInteger(image.width) &&
    Number.isInteger(image.height) &&
    image.width > 0 &&
    image.height > 0 &&
    IMAGE_TYPES.has(image.contentType);
  if (!ok) throw badInput('BAD_USER_INPUT', `upload record is not valid: need a blob id (64 hex), positive integer width and height and one of ${[...IMAGE_TYPES].join(', ')}.`);
}

function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeCursor<T>(cursor: string, check: (v: T) => boolean): T {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as T;
    if (check(v)) return v;
  } catch {
    // below
  }
  throw badInput('BAD_CURSOR', 'the cursor is not valid: pass the endCursor of the previous page unchanged.');
}

function pageSize(first: number | undefined, fallback: number): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw badInput('BAD_USER_INPUT', `first must be an integer from 1 to ${MAX_PAGE}, got ${String(first)}.`);
  return n;
}

export class ActorJobService implements JobService {
  readonly client: ActorClient;
  readonly #o: JobServiceOptions;
  readonly #cap: number;
  readonly #settings: FillSettings;

  constructor(opts: JobServiceOptions) {
    this.#o = opts;
    this.client = opts.client;
    this.#cap = opts.tenantRunningCap ?? 4;
    if (!(Number.isInteger(this.#cap) && this.#cap >= 1)) throw new CodedError('INVALID_ARGUMENT', `tenantRunningCap must be an integer >= 1, got ${this.#cap}`);
    this.#settings = { ...DEFAULT_FILL_SETTINGS, ...(opts.settings ?? {}) };
  }

  // --- uploads ------------------------------------------------------------------------------

  async recordUpload(tenant: string, image: ImageRef): Promise<void> {
    assertTenant(tenant);
    assertImageRef(image);
    await this.#o.uploads.put(tenant, image.id, { id: image.id, width: image.width, height: image.height, contentType: image.contentType });
  }

  async getUpload(tenant: string, id: string): Promise<ImageRef | null> {
    assertTenant(tenant);
    return this.#o.uploads.get(tenant, id);
  }

  // --- create -------------------------------------------------------------------------------

  async create(tenant: string, input: CreateJobInput): Promise<JobView> {
    assertTenant(tenant);
    if (!input || typeof input !== 'object') throw badInput('BAD_USER_INPUT', 'create needs an input object with imageId and maskId.');
    const key = input.idempotencyKey;
    if (key !== undefined && key !== null && (typeof key !== 'string' || key.length < 1 || key.length > 256)) {
      throw badInput('BAD_USER_INPUT', 'idempotencyKey must be a string of 1-256 characters.');
    }
    // The same key from the same tenant names the same job: starting it again returns it.
    const id = key ? `k${createHash('sha256').update(tenant).update('\0').update(key).digest('hex').slice(0, 40)}` : randomUUID();
    if (key) {
      const existing = await this.get(tenant, id);
      if (existing) return existing;
    }
    const jobInput = await this.#validate(tenant, input, id);
    const summary = initialSummary(jobInput) as Record<string, unknown>;
    const start = { id, tenant, summary };
    const started = this.#o.host ? await this.#o.host.startInstance(INPAINT_ORCHESTRATION, jobInput, start) : await this.client.start(INPAINT_ORCHESTRATION, jobInput, start);
    if (!started.created) {
      const existing = await this.get(tenant, id);
      if (existing) return existing;
      throw notFound(id);
    }
    // Answer with the admission decision (RUNNING or QUEUED) when it comes quickly.
    return this.#waitFor(tenant, id, (v) => v.version > 0 || TERMINAL_JOB_STATUSES.includes(v.status), this.#o.createWaitMs ?? 2_000);
  }

  async #validate(tenant: string, input: CreateJobInput, id: string): Promise<InpaintJobInput> {
    const { imageId, maskId } = input;
    const donorIds = input.donorIds ?? [];
    if (typeof imageId !== 'string' || typeof maskId !== 'string') throw badInput('BAD_USER_INPUT', 'imageId and maskId must be upload ids.');
    if (!Array.isArray(donorIds) || donorIds.length > MAX_DONORS || donorIds.some((d) => typeof d !== 'string')) {
      throw badInput('BAD_USER_INPUT', `donorIds must be a list of at most ${MAX_DONORS} upload ids.`);
    }
    const upload = async (uid: string, what: string): Promise<ImageRef> => {
      const u = await this.getUpload(tenant, uid);
      if (!u) throw new CodedError('UPLOAD_NOT_FOUND', `${what} '${uid}' is not an upload of yours: upload it first (POST /uploads).`, { details: { id: uid } });
      return u;
    };
    const [image, mask, ...donors] = await Promise.all([upload(imageId, 'image'), upload(maskId, 'mask'), ...donorIds.map((d) => upload(d, 'donor mask'))]);
    for (const [what, m] of [['mask', mask], ...donors.map((d) => ['donor mask', d] as const)] as const) {
      if (m.width !== image.width || m.height !== image.height) {
        throw badInput('BAD_MASK_SIZE', `the ${what} is ${m.width}x${m.height} but the image is ${image.width}x${image.height}; a mask must have the image's size.`);
      }
    }
    const options = this.#options(input.options);
    return {
      tenant,
      job: { jobId: id, imageBlobId: image.id, maskBlobId: mask.id, donorBlobIds: donors.map((d) => d.id), options },
      image,
      mask,
      donors,
      cap: this.#cap,
      settings: this.#settings,
    };
  }

  /** The client's options checked by the kernel's own validation, defaults resolved. */
  #options(o: CreateJobInput['options']): JobKernelOptions {
    if (o !== undefined && o !== null && (typeof o !== 'object' || Array.isArray(o))) throw badInput('BAD_OPTION', 'bad option: options must be an object.');
    const given = Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined && v !== null));
    const unknown = Object.keys(given).filter((k) => !OPTION_KEYS.has(k));
    if (unknown.length) throw badInput('BAD_OPTION', `bad option: unknown option(s) ${unknown.join(', ')}; known: ${[...OPTION_KEYS].join(', ')}.`);
    try {
      const { plan } = resolveOptions(given);
      return { patchSize: plan.patchSize, seed: plan.seed, maxIterations: plan.maxIterations, distance: plan.distance };
    } catch (err) {
      if (isKernelError(err)) throw new CodedError(err.code, err.message);
      throw err;
    }
  }

  // --- reading ------------------------------------------------------------------------------

  async #status(tenant: string, id: string): Promise<InstanceStatus | null> {
    assertTenant(tenant);
    if (typeof id !== 'string' || !INSTANCE_ID_PATTERN.test(id)) return null;
    const st = await this.client.status(id);
    if (!st || st.orchestration !== INPAINT_ORCHESTRATION || st.parentId !== undefined || st.tenant !== tenant) return null;
    return st;
  }

  static record(st: InstanceStatus): JobRecord {
    const r: JobRecord = {
      id: st.id,
      tenant: st.tenant ?? '',
      status: st.status,
      createdAt: st.createdAt,
      updatedAt: st.updatedAt,
      summary: st.summary as Partial<JobSummary>,
      events: st.stats?.events ?? 1,
    };
    if (st.error) r.error = st.error;
    if (st.output !== undefined) r.output = st.output as InpaintJobOutput;
    return r;
  }

  async get(tenant: string, id: string): Promise<JobView | null> {
    const st = await this.#status(tenant, id);
    return st ? jobView(ActorJobService.record(st)) : null;
  }

  async list(tenant: string, opts: { first?: number; after?: string | null; status?: JobStatus | null } = {}): Promise<JobPage> {
    assertTenant(tenant);
    const first = pageSize(opts.first, 20);
    const after = opts.after ? decodeCursor<{ c: number; i: string }>(opts.after, (v) => typeof v?.c === 'number' && typeof v?.i === 'string') : null;
    // Newest first; the runtime's index is read whole anyway, so status filtering happens here
    // (QUEUED and PAUSED are job states the runtime does not know).
    const items: JobView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.client.list({ tenant, orchestration: INPAINT_ORCHESTRATION, limit: 10_000, ...(cursor ? { cursor } : {}) });
      for (const st of page.items) items.push(jobView(ActorJobService.record(st)));
      cursor = page.cursor;
    } while (cursor);
    const ordered = items.filter((v) => !opts.status || v.status === opts.status);
    let start = 0;
    if (after) {
      start = ordered.findIndex((v) => {
        const c = Date.parse(v.createdAt);
        return c < after.c || (c === after.c && v.id > after.i);
      });
      if (start < 0) start = ordered.length;
    }
    const slice = ordered.slice(start, start + first);
    const last = slice[slice.length - 1];
    return {
      items: slice,
      endCursor: last ? encodeCursor({ c: Date.parse(last.createdAt), i: last.id }) : null,
      hasNextPage: start + first < ordered.length,
    };
  }

  // --- control ------------------------------------------------------------------------------

  async #controllable(tenant: string, id: string): Promise<JobView> {
    const v = await this.get(tenant, id);
    if (!v) throw notFound(id);
    if (TERMINAL_JOB_STATUSES.includes(v.status)) throw new CodedError('JOB_FINISHED', `job '${id}' has already finished (${v.status}).`, { details: { id, status: v.status } });
    return v;
  }

  async cancel(tenant: string, id: string): Promise<JobView> {
    await this.#controllable(tenant, id);
    await this.client.cancel(id, 'canceled by the client');
    return this.#waitFor(tenant, id, (v) => TERMINAL_JOB_STATUSES.includes(v.status), this.#o.controlWaitMs ?? 10_000);
  }

  async pause(tenant: string, id: string): Promise<JobView> {
    await this.signal(tenant, id, 'pause');
    return this.#waitFor(tenant, id, (v) => v.status === 'PAUSED' || TERMINAL_JOB_STATUSES.includes(v.status), this.#o.controlWaitMs ?? 10_000);
  }

  async resume(tenant: string, id: string): Promise<JobView> {
    // Sent even when the job does not show PAUSED yet: a pause may be on its way.
    await this.signal(tenant, id, 'resume');
    return this.#waitFor(tenant, id, (v) => v.status !== 'PAUSED', this.#o.controlWaitMs ?? 10_000);
  }

  async accept(tenant: string, id: string): Promise<JobView> {
    await this.signal(tenant, id, 'accept');
    return this.#waitFor(tenant, id, (v) => TERMINAL_JOB_STATUSES.includes(v.status), this.#o.controlWaitMs ?? 10_000);
  }

  /**
   * Sends a control request to the job (pause, resume, accept, or a future feature's named
   * request: the orchestration's CONTROL_HANDLERS); requests keep the order they were sent in.
   */
  async signal(tenant: string, id: string, type: string, fields: Record<string, unknown> = {}): Promise<void> {
    if (typeof type !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(type)) throw badInput('BAD_USER_INPUT', `control request type '${String(type)}' is not valid.`);
    await this.#controllable(tenant, id);
    const request: ControlRequest = { ...fields, type };
    await this.client.raiseEvent(id, JobEvent.control, request);
  }

  /** The job's view once `done` holds, or the latest view after `ms`. */
  async #waitFor(tenant: string, id: string, done: (v: JobView) => boolean, ms: number): Promise<JobView> {
    const until = Date.now() + ms;
    let wait = 5;
    for (;;) {
      const v = await this.get(tenant, id);
      if (!v) throw notFound(id);
      if (done(v) || Date.now() >= until) return v;
      await delay(wait);
      wait = Math.min(100, wait * 2);
    }
  }

  // --- watching and history -----------------------------------------------------------------

  async *watch(tenant: string, id: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<JobView> {
    const st = await this.#status(tenant, id);
    if (!st) throw notFound(id);
    const live = { subject: this.client.storage.names.liveSubject(id), allow: (blobId: string) => this.#o.outputs.put(tenant, blobId, { jobId: id }) };
    yield* watchJob(this.client, id, ActorJobService.record(st), isTerminalStatus(st.status) || st.purged, opts.signal, live);
  }

  async history(tenant: string, id: string, opts: { first?: number; after?: string | null } = {}): Promise<JobHistoryPage> {
    const st = await this.#status(tenant, id);
    if (!st) throw notFound(id);
    const first = pageSize(opts.first, 50);
    // Cursor: the stream sequence and place in its message of the last row given, and its number.
    const after = opts.after
      ? decodeCursor<{ s: number; i: number; n: number }>(opts.after, (v) => Number.isInteger(v?.s) && Number.isInteger(v?.i) && Number.isInteger(v?.n))
      : { s: 0, i: -1, n: 0 };
    const items: JobHistoryPage['items'] = [];
    let fromSeq = Math.max(1, after.s);
    let n = after.n;
    let last = after;
    let more = false;
    for (;;) {
      const page = await this.client.history(id, { fromSeq, limit: first + 1 });
      for (const r of page.events) {
        if (r.seq < after.s || (r.seq === after.s && r.index <= after.i)) continue;
        if (items.length === first) {
          more = true;
          break;
        }
        n++;
        items.push({ seq: n, type: r.event.type, time: new Date(r.time).toISOString(), summary: summarizeEvent(r.event, r.value) });
        last = { s: r.seq, i: r.index, n };
      }
      if (more || page.nextSeq === undefined) break;
      fromSeq = page.nextSeq;
    }
    return { items, endCursor: items.length ? encodeCursor(last) : opts.after ?? null, hasNextPage: more };
  }

  // --- blobs --------------------------------------------------------------------------------

  async ownsBlob(tenant: string, blobId: string): Promise<boolean> {
    assertTenant(tenant);
    if (typeof blobId !== 'string' || !BLOB_ID_PATTERN.test(blobId)) return false;
    const [upload, output] = await Promise.all([this.#o.uploads.get(tenant, blobId), this.#o.outputs.get(tenant, blobId)]);
    return upload !== null || output !== null;
  }
}
