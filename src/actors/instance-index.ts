// The instance index: one KV entry per instance with what listing and status need (status,
// timestamps, tenant, the custom summary fields the orchestration sets, the result or error),
// kept after the history itself is purged. The owner writes it after the events it reflects are
// stored; clients write only the initial PENDING entry and the purge mark.
import type { KV } from '@nats-io/kv';
import { Packr } from 'msgpackr';
import { CodedError, type ErrorInfo } from '../common/errors.ts';
import { readAllEntries } from '../common/kv.ts';
import { isWrongLastSequence } from '../common/nats.ts';
import type { StoredValue } from './events.ts';

export const INDEX_FORMAT_VERSION = 1;

export type InstanceStatusName = 'PENDING' | 'RUNNING' | 'SUSPENDED' | 'COMPLETED' | 'FAILED' | 'CANCELED' | 'TERMINATED';

export const TERMINAL_STATUSES: ReadonlySet<InstanceStatusName> = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED']);

export function isTerminalStatus(s: InstanceStatusName): boolean {
  return TERMINAL_STATUSES.has(s);
}

export interface InstanceStats {
  /** Events in the history (all generations). */
  events: number;
  /** JetStream messages appended (group commits). */
  appends: number;
  /** Bytes of history appended. */
  bytes: number;
  /** Times the orchestration code was resumed (start and turns, replays included). */
  turns: number;
}

export interface IndexEntry {
  v: number;
  id: string;
  orchestration: string;
  status: InstanceStatusName;
  tenant?: string;
  parentId?: string;
  createdAt: number;
  updatedAt: number;
  completedAt?: number;
  generation: number;
  /** Fields merged from ctx.setStatus. */
  summary: Record<string, unknown>;
  output?: StoredValue;
  error?: ErrorInfo;
  stats?: InstanceStats;
  /** Set when the history was purged; the entry is the summary that remains. */
  purgedAt?: number;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeIndexEntry(e: IndexEntry): Uint8Array {
  return packr.pack(e);
}

export function decodeIndexEntry(bytes: Uint8Array): IndexEntry {
  const e = packr.unpack(bytes) as IndexEntry;
  if (!e || e.v !== INDEX_FORMAT_VERSION) {
    throw new CodedError('CODEC_VERSION', `an instance index entry has format version ${String(e?.v)}, this runtime reads ${INDEX_FORMAT_VERSION}; run a runtime that knows it.`);
  }
  return e;
}

export class InstanceIndex {
  readonly #kv: KV;
  readonly #writers = new Map<string, IndexWriter>();

  constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Creates the entry; false if one exists already. */
  async create(entry: IndexEntry): Promise<boolean> {
    try {
      await this.#kv.create(entry.id, encodeIndexEntry(entry));
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw err;
    }
  }

  async get(id: string): Promise<IndexEntry | undefined> {
    const e = await this.#kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    return decodeIndexEntry(e.value);
  }

  /** Read-modify-write with compare-and-set, retried on conflicts. */
  async modify(id: string, fn: (e: IndexEntry) => IndexEntry | undefined): Promise<IndexEntry | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const kvEntry = await this.#kv.get(id);
      if (!kvEntry || kvEntry.operation !== 'PUT') return undefined;
      const next = fn(decodeIndexEntry(kvEntry.value));
      if (!next) return undefined;
      try {
        await this.#kv.update(id, encodeIndexEntry(next), kvEntry.revision);
        return next;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    throw new CodedError('INDEX_CONTENDED', `the index entry of '${id}' kept changing under 20 attempts to update it; try again.`, { retryable: true });
  }

  /**
   * The owner's write: latest wins. While one write is in flight the next is held, and only the
   * newest held value is written, so a burst of status updates costs two writes, not a burst.
   */
  write(entry: IndexEntry): Promise<void> {
    let w = this.#writers.get(entry.id);
    if (!w) this.#writers.set(entry.id, (w = new IndexWriter(this.#kv, () => this.#writers.delete(entry.id))));
    return w.write(entry);
  }

  async delete(id: string): Promise<void> {
    await this.#kv.purge(id);
  }

  /** Every entry, in one pass over the bucket. Listing reads the whole index: fine for tens of thousands. */
  async listAll(): Promise<IndexEntry[]> {
    return (await readAllEntries(this.#kv, 10_000)).map((e) => decodeIndexEntry(e.value));
  }
}

class IndexWriter {
  #inFlight: Promise<void> | undefined;
  #next: IndexEntry | undefined;
  #nextWaiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  readonly #kv: KV;
  readonly #onIdle: () => void;

  constructor(kv: KV, onIdle: () => void) {
    this.#kv = kv;
    this.#onIdle = onIdle;
  }

  write(entry: IndexEntry): Promise<void> {
    if (!this.#inFlight) {
      this.#inFlight = this.#run(entry);
      return this.#inFlight;
    }
    this.#next = entry;
    return new Promise((resolve, reject) => this.#nextWaiters.push({ resolve, reject }));
  }

  async #run(entry: IndexEntry): Promise<void> {
    try {
      await this.#kv.put(entry.id, encodeIndexEntry(entry));
    } finally {
      const next = this.#next;
      const waiters = this.#nextWaiters;
      this.#next = undefined;
      this.#nextWaiters = [];
      if (next) {
        this.#inFlight = this.#run(next);
        this.#inFlight.then(
          () => waiters.forEach((w) => w.resolve()),
          (e: unknown) => waiters.forEach((w) => w.reject(e)),
        );
      } else {
        this.#inFlight = undefined;
        this.#onIdle();
      }
    }
  }
}
