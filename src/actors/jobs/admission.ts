// Per-tenant admission: at most `cap` jobs of a tenant run at once; the others wait, first come
// first served. The state is one KV entry per tenant, `{running, queue}` (job ids), changed only
// by compare-and-set, so concurrent jobs on any number of hosts never over-admit.
//
// Jobs drive it from their orchestration (activities job.admit and job.release), so waiting is
// durable: a queued job is an orchestration waiting on a timer or a wake-up event, and survives
// any host crash. Nothing can deadlock on a job that will never release: every admission first
// drops ids whose job has finished (or does not exist) from both lists, so a slot held by a job
// that failed, was terminated or crashed before releasing is reclaimed at the next admission.
// A paused job keeps its slot (resuming must not queue it again).
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { CodedError } from '../../common/errors.ts';
import { isWrongLastSequence } from '../../common/nats.ts';
import type { ActorClient } from '../client.ts';
import { isTerminalStatus } from '../instance-index.ts';
import { JobEvent, type AdmitOutput } from './activities.ts';
import { tenantKey } from './tenants.ts';

interface TenantSlots {
  running: string[];
  queue: string[];
}

/** Queued jobs woken when a slot frees (more than one: the first may be slow to ask). */
const WAKE = 2;
const CAS_ATTEMPTS = 30;

export class Admission {
  readonly #kv: KV;
  readonly #client: ActorClient;
  readonly #log: Logger | undefined;

  constructor(kv: KV, client: ActorClient, log?: Logger) {
    this.#kv = kv;
    this.#client = client;
    this.#log = log;
  }

  /** The tenant's slots as stored (for tests and tooling). */
  async slots(tenant: string): Promise<TenantSlots> {
    const e = await this.#kv.get(tenantKey(tenant));
    return e && e.operation === 'PUT' ? e.json<TenantSlots>() : { running: [], queue: [] };
  }

  /** Takes a slot for the job if one is free and no earlier job waits; else queues it. Idempotent. */
  async admit(tenant: string, jobId: string, cap: number): Promise<AdmitOutput> {
    if (!(Number.isInteger(cap) && cap >= 1)) throw new CodedError('INVALID_ARGUMENT', `admission cap must be an integer >= 1, got ${cap}`);
    return this.#modify<AdmitOutput>(tenant, async (s) => {
      if (s.running.includes(jobId)) return { slots: null, out: { admitted: true, position: 0 } };
      // Slots held by jobs that ended without releasing are reclaimed first.
      const running = s.running;
      const gone = await this.#finished(running);
      let next: TenantSlots = { running: running.filter((id) => !gone.has(id)), queue: [...s.queue] };
      let changed = gone.size > 0;
      if (!next.queue.includes(jobId)) {
        next.queue.push(jobId);
        changed = true;
      }
      let free = cap - next.running.length;
      let position = next.queue.indexOf(jobId);
      if (free > 0 && position >= free) {
        // A slot is free but earlier jobs are ahead: drop those that ended while queued.
        const ahead = await this.#finished(next.queue.slice(0, position));
        if (ahead.size > 0) {
          next = { running: next.running, queue: next.queue.filter((id) => !ahead.has(id)) };
          changed = true;
          free = cap - next.running.length;
          position = next.queue.indexOf(jobId);
        }
      }
      if (position < free) {
        next.queue.splice(position, 1);
        next.running.push(jobId);
        return { slots: next, out: { admitted: true, position: 0 } };
      }
      return { slots: changed ? next : null, out: { admitted: false, position } };
    });
  }

  /** Gives the job's slot (or queue place) back and wakes the first queued jobs. Idempotent. */
  async release(tenant: string, jobId: string): Promise<void> {
    const woken = await this.#modify(tenant, async (s) => {
      const next = { running: s.running.filter((id) => id !== jobId), queue: s.queue.filter((id) => id !== jobId) };
      return { slots: next, out: next.queue.slice(0, WAKE) };
    });
    await Promise.all(
      woken.map((id) =>
        this.#client.raiseEvent(id, JobEvent.admission, null).catch((err: unknown) => this.#log?.warn({ err, id }, 'could not wake a queued job (it polls again)')),
      ),
    );
  }

  /** Of these job ids, those whose job finished or does not exist (their place would be lost for good). */
  async #finished(ids: readonly string[]): Promise<Set<string>> {
    const gone = new Set<string>();
    await Promise.all(
      ids.map(async (id) => {
        const st = await this.#client.storage.index.get(id);
        if (!st || isTerminalStatus(st.status)) gone.add(id);
      }),
    );
    return gone;
  }

  /** Read, change, compare-and-set; `slots: null` means nothing to write. */
  async #modify<R>(tenant: string, fn: (s: TenantSlots) => Promise<{ slots: TenantSlots | null; out: R }>): Promise<R> {
    const key = tenantKey(tenant);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const e = await this.#kv.get(key);
      const current: TenantSlots = e && e.operation === 'PUT' ? e.json<TenantSlots>() : { running: [], queue: [] };
      const { slots, out } = await fn(current);
      if (!slots) return out;
      const bytes = JSON.stringify(slots);
      try {
        if (e) await this.#kv.update(key, bytes, e.revision);
        else await this.#kv.create(key, bytes);
        return out;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    throw new CodedError('ADMISSION_CONTENDED', `the admission entry of tenant '${tenant}' kept changing under ${CAS_ATTEMPTS} attempts; try again.`, { retryable: true });
  }
}
