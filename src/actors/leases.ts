// Leases: which host runs which instance. One KV key per instance; the value names the owner and
// a deadline. nats-server 2.9 has no per-key TTL, so expiry is the deadline in the value, and
// every change is a compare-and-set on the key's revision: a claim creates the key (or replaces
// a lapsed value at its revision), a heartbeat renews at the revision it last wrote, a release
// deletes at that revision. Two hosts can never both succeed at the same revision.
//
// A lease only decides who should run an instance; safety comes from the journal's fencing.
// A host that lost its lease without noticing is stopped by its first rejected append.
import type { KV } from '@nats-io/kv';
import { readAllEntries } from '../common/kv.ts';
import { isWrongLastSequence } from '../common/nats.ts';

export interface LeaseValue {
  owner: string;
  /** ms since the epoch; after it (plus the skew allowance) anyone may claim. */
  deadline: number;
  claimedAt: number;
}

export interface Lease {
  id: string;
  revision: number;
  value: LeaseValue;
}

export interface LeaseRecord extends Lease {
  lapsed: boolean;
}

export interface LeaseOptions {
  kv: KV;
  hostId: string;
  ttlMs: number;
  /** Extra time a lapsed lease must be past its deadline before another host claims it. */
  skewMs?: number;
  clock?: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encode(v: LeaseValue): Uint8Array {
  return encoder.encode(JSON.stringify(v));
}

function decode(bytes: Uint8Array): LeaseValue | undefined {
  try {
    const v = JSON.parse(decoder.decode(bytes)) as LeaseValue;
    return typeof v.owner === 'string' && typeof v.deadline === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

export class LeaseManager {
  readonly hostId: string;
  readonly ttlMs: number;
  readonly skewMs: number;
  readonly #kv: KV;
  readonly #clock: () => number;

  constructor(opts: LeaseOptions) {
    this.#kv = opts.kv;
    this.hostId = opts.hostId;
    this.ttlMs = opts.ttlMs;
    this.skewMs = opts.skewMs ?? Math.min(250, Math.floor(opts.ttlMs / 4));
    this.#clock = opts.clock ?? Date.now;
  }

  #fresh(): LeaseValue {
    const now = this.#clock();
    return { owner: this.hostId, deadline: now + this.ttlMs, claimedAt: now };
  }

  isLapsed(value: LeaseValue | undefined): boolean {
    return !value || this.#clock() > value.deadline + this.skewMs;
  }

  async read(id: string): Promise<LeaseRecord | undefined> {
    const e = await this.#kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    const value = decode(e.value);
    if (!value) return undefined;
    return { id, revision: e.revision, value, lapsed: this.isLapsed(value) };
  }

  /**
   * Claims an instance if nobody holds it or its holder's lease lapsed (or this host already
   * holds it). Returns the lease, or undefined if another host holds it or won the race.
   */
  async claim(id: string): Promise<Lease | undefined> {
    const e = await this.#kv.get(id);
    const value = this.#fresh();
    try {
      if (!e || e.operation !== 'PUT') {
        // Absent, or deleted by a graceful release: create fails if someone else just did.
        const revision = e ? await this.#kv.update(id, encode(value), e.revision) : await this.#kv.create(id, encode(value));
        return { id, revision, value };
      }
      const current = decode(e.value);
      if (current && current.owner !== this.hostId && !this.isLapsed(current)) return undefined;
      const revision = await this.#kv.update(id, encode(value), e.revision);
      return { id, revision, value };
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }

  /**
   * Takes the lease regardless of its holder (operator tooling and fault tests). The previous
   * holder is stopped by fencing at its next append.
   */
  async seize(id: string): Promise<Lease> {
    const value = this.#fresh();
    const revision = await this.#kv.put(id, encode(value));
    return { id, revision, value };
  }

  /**
   * Renews at the revision this host last wrote; false if someone else changed the key. A
   * renewal whose answer was lost (a timeout while a NATS server fails over) may still have been
   * stored: the key then holds this host's own lease at a newer revision, and that is adopted
   * rather than taken for another host's claim (which left the instance with no host at all
   * until the lease lapsed and a scan found it).
   */
  async renew(lease: Lease): Promise<boolean> {
    const value: LeaseValue = { ...lease.value, deadline: this.#clock() + this.ttlMs };
    try {
      lease.revision = await this.#kv.update(lease.id, encode(value), lease.revision);
      lease.value = value;
      return true;
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
    }
    const e = await this.#kv.get(lease.id);
    const current = e && e.operation === 'PUT' ? decode(e.value) : undefined;
    if (!e || !current || current.owner !== this.hostId || current.claimedAt !== lease.value.claimedAt) return false;
    try {
      lease.revision = await this.#kv.update(lease.id, encode(value), e.revision);
      lease.value = value;
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw err;
    }
  }

  /** Gives the instance up so another host can claim it at once. */
  async release(lease: Lease): Promise<void> {
    try {
      await this.#kv.delete(lease.id, { previousSeq: lease.revision });
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
    }
  }

  /** Every current lease (for the orphan scan), in one pass over the bucket. */
  async list(): Promise<Map<string, LeaseRecord>> {
    const out = new Map<string, LeaseRecord>();
    for (const e of await readAllEntries(this.#kv)) {
      const value = decode(e.value);
      if (value) out.set(e.key, { id: e.key, revision: e.revision, value, lapsed: this.isLapsed(value) });
    }
    return out;
  }
}
