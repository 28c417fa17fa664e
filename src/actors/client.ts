// The client API: start instances, send them events and control requests, read their status and
// history, watch them live, list and purge them. Any process with a NATS connection can be a
// client; none of this needs a host in the same process. Clients never write to an instance's
// history after its Started event: everything else goes through the instance's inbox to its
// owner, the single writer.
import { randomUUID, randomInt } from 'node:crypto';
import { KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { CodedError, type ErrorInfo } from '../common/errors.ts';
import { assertInstanceId } from '../common/names.ts';
import { isTransient, isWrongLastSequence, sleepOrReconnect } from '../common/nats.ts';
import { encodeEvent, joinBatch, type InboxMessage } from './codec.ts';
import { instanceNotFound, invalidArgument } from './errors.ts';
import type { ParentRef, StartedEvent, StoredValue } from './events.ts';
import { publishInbox } from './inbox.ts';
import { decodeIndexEntry, isTerminalStatus, type IndexEntry, type InstanceStats, type InstanceStatusName } from './instance-index.ts';
import { purgeInstance } from './retention.ts';
import { openActorStorage, type ActorStorage, type StorageOptions } from './storage.ts';
import { readHistoryPage, watchInstance, type HistoryPage, type RecordedEvent, type WatchOptions } from './watch.ts';

export type { HistoryPage, RecordedEvent, WatchOptions };

export interface ClientOptions extends StorageOptions {
  connection: NatsConnection;
}

export interface StartOptions {
  /** Caller-given id: starting an id that exists returns the existing instance (idempotent). */
  id?: string;
  /** The tenant that owns the instance; listing filters on it. */
  tenant?: string;
  /** Initial summary fields in the index. */
  summary?: Record<string, unknown>;
}

export interface StartResult {
  id: string;
  /** False when an instance with this id existed already. */
  created: boolean;
}

export interface InstanceStatus {
  id: string;
  orchestration: string;
  status: InstanceStatusName;
  tenant?: string;
  parentId?: string;
  createdAt: number;
  updatedAt: number;
  completedAt?: number;
  generation: number;
  summary: Record<string, unknown>;
  /** The result of a completed instance. */
  output?: unknown;
  error?: ErrorInfo;
  stats?: InstanceStats;
  /** True once the history was purged (the index keeps this summary). */
  purged: boolean;
}




export interface ListOptions {
  tenant?: string;
  status?: InstanceStatusName | readonly InstanceStatusName[];
  orchestration?: string;
  /** Include sub-orchestrations. Default false: only instances started by clients. */
  includeChildren?: boolean;
  limit?: number;
  cursor?: string;
}

export interface ListPage {
  items: InstanceStatus[];
  cursor?: string;
}

export interface ChildStart {
  id: string;
  orchestration: string;
  input: unknown;
  tenant?: string;
  parent: ParentRef;
}

/** What a finished child reports to its parent. */
export type ChildOutcome = { value: StoredValue } | { error: ErrorInfo };

const KNOWN_CACHE_LIMIT = 10_000;

export class ActorClient {
  readonly storage: ActorStorage;
  readonly #known = new Set<string>();

  private constructor(storage: ActorStorage) {
    this.storage = storage;
  }

  static async connect(opts: ClientOptions): Promise<ActorClient> {
    return new ActorClient(await openActorStorage(opts.connection, opts));
  }

  static fromStorage(storage: ActorStorage): ActorClient {
    return new ActorClient(storage);
  }

  get names() {
    return this.storage.names;
  }

  /** Starts an orchestration instance. Idempotent for a caller-given id. */
  async start(orchestration: string, input?: unknown, opts: StartOptions = {}): Promise<StartResult> {
    if (typeof orchestration !== 'string' || orchestration.length === 0) throw invalidArgument('start needs an orchestration name');
    const id = opts.id ?? randomUUID();
    assertInstanceId(id);
    return this.#start(id, orchestration, input, opts.tenant, undefined, opts.summary);
  }

  /** Starts a sub-orchestration for a parent instance (used by the runtime). */
  async startChild(child: ChildStart): Promise<StartResult> {
    assertInstanceId(child.id, true);
    return this.#start(child.id, child.orchestration, child.input, child.tenant, child.parent, undefined);
  }

  async #start(id: string, orchestration: string, input: unknown, tenant: string | undefined, parent: ParentRef | undefined, summary: Record<string, unknown> | undefined): Promise<StartResult> {
    const { js, names, index, values, nc } = this.storage;
    // The index outlives a purged history: an id that was ever used stays taken.
    if (await index.get(id)) {
      this.#remember(id);
      return { id, created: false };
    }
    const started: StartedEvent = { type: 'Started', orchestration, generation: 0, seed: randomInt(0, 2 ** 32), at: Date.now(), ...(await values.store(input)) };
    if (tenant !== undefined) started.tenant = tenant;
    if (parent) started.parent = parent;
    let created = true;
    try {
      // Expected last subject sequence 0: only the first start of this id can write.
      await js.publish(names.historySubject(id), joinBatch([encodeEvent(started)]), {
        expect: { lastSubjectSequence: 0 },
        msgID: `start-${id}-${randomUUID()}`,
      });
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      created = false;
    }
    const now = Date.now();
    const entry: IndexEntry = { v: 1, id, orchestration, status: 'PENDING', createdAt: now, updatedAt: now, generation: 0, summary: summary ?? {} };
    if (tenant !== undefined) entry.tenant = tenant;
    if (parent) entry.parentId = parent.id;
    await index.create(entry);
    this.#remember(id);
    // Wake hosts that claim new work (a core message: if none listens, their scan finds it).
    if (created) nc.publish(names.controlSubject, id);
    return { id, created };
  }

  /** Raises a named event; the instance receives it through ctx.waitForEvent(name). */
  async raiseEvent(id: string, name: string, value?: unknown, opts: { eventId?: string } = {}): Promise<void> {
    if (typeof name !== 'string' || name.length === 0) throw invalidArgument('raiseEvent needs an event name');
    await this.#ensureExists(id);
    const stored = await this.storage.values.store(value);
    await this.#send(id, { kind: 'event', eid: opts.eventId ?? randomUUID(), name, ...stored });
  }

  /** Asks the instance to cancel: its pending steps reject with CanceledError; status CANCELED if it ends so. */
  async cancel(id: string, reason = 'canceled by a client'): Promise<void> {
    await this.#ensureExists(id);
    await this.#send(id, { kind: 'cancel', eid: randomUUID(), reason });
  }

  /** Stops the instance at once (status TERMINATED); its code runs no further. */
  async terminate(id: string, reason = 'terminated by a client'): Promise<void> {
    await this.#ensureExists(id);
    await this.#send(id, { kind: 'terminate', eid: randomUUID(), reason });
  }

  /** Holds deliveries (activity results, events, timers) until resume; they are recorded meanwhile. */
  async suspend(id: string, reason = 'suspended by a client'): Promise<void> {
    await this.#ensureExists(id);
    await this.#send(id, { kind: 'suspend', eid: randomUUID(), reason });
  }

  async resume(id: string): Promise<void> {
    await this.#ensureExists(id);
    await this.#send(id, { kind: 'resume', eid: randomUUID() });
  }

  /** Reports a finished child to its parent's inbox (used by the runtime; idempotent). */
  async notifyParent(parent: ParentRef, childId: string, outcome: ChildOutcome): Promise<void> {
    const msg: InboxMessage = { kind: 'subDone', eid: `sub-${childId}`, childId, generation: parent.generation, seq: parent.seq };
    if ('error' in outcome) msg.error = outcome.error;
    else Object.assign(msg, outcome.value);
    await this.#send(parent.id, msg);
  }

  async #send(id: string, msg: InboxMessage): Promise<void> {
    await publishInbox(this.storage.js, this.storage.names.inboxSubject(id), msg);
  }

  async #ensureExists(id: string): Promise<void> {
    assertInstanceId(id, true);
    if (this.#known.has(id)) return;
    if (!(await this.storage.index.get(id))) throw instanceNotFound(id);
    this.#remember(id);
  }

  #remember(id: string): void {
    if (this.#known.size >= KNOWN_CACHE_LIMIT) this.#known.clear();
    this.#known.add(id);
  }

  async status(id: string): Promise<InstanceStatus | undefined> {
    assertInstanceId(id, true);
    const e = await this.storage.index.get(id);
    if (!e) return undefined;
    return this.#toStatus(e, true);
  }

  async #toStatus(e: IndexEntry, withOutput: boolean): Promise<InstanceStatus> {
    const s: InstanceStatus = {
      id: e.id,
      orchestration: e.orchestration,
      status: e.status,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
      generation: e.generation,
      summary: e.summary ?? {},
      purged: e.purgedAt !== undefined,
    };
    if (e.tenant !== undefined) s.tenant = e.tenant;
    if (e.parentId !== undefined) s.parentId = e.parentId;
    if (e.completedAt !== undefined) s.completedAt = e.completedAt;
    if (e.error) s.error = e.error;
    if (e.stats) s.stats = e.stats;
    if (withOutput && e.output) s.output = await this.storage.values.load(e.output);
    return s;
  }

  /** Waits until the instance reaches a terminal status (watching its index entry). */
  async waitForCompletion(id: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<InstanceStatus> {
    assertInstanceId(id, true);
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    // A KV watch on the entry gives the answer as soon as it is written; a slow poll beside it
    // covers the time a watch needs to come back after the server restarts or fails over.
    for (;;) {
      if (opts.signal?.aborted) throw new CodedError('ABORTED', `waiting for instance '${id}' was aborted`);
      try {
        const done = await this.#watchUntilTerminal(id, Math.min(deadline - Date.now(), 1_000), opts.signal);
        if (done) return await this.#toStatus(done, true);
        const entry = await this.storage.index.get(id);
        if (!entry) throw instanceNotFound(id);
        if (isTerminalStatus(entry.status)) return await this.#toStatus(entry, true);
      } catch (err) {
        if (!isTransient(err)) throw err;
        await sleepOrReconnect(this.storage.nc, 200);
      }
      if (Date.now() >= deadline) {
        throw new CodedError('TIMEOUT', `instance '${id}' did not finish within ${opts.timeoutMs} ms; wait longer or check its status and history.`, { retryable: true, details: { id } });
      }
    }
  }

  /** Watches the index entry for up to `ms`; the terminal entry, or undefined. */
  async #watchUntilTerminal(id: string, ms: number, signal: AbortSignal | undefined): Promise<IndexEntry | undefined> {
    let expired = false;
    let stop: () => void = () => {
      expired = true;
    };
    const timer = setTimeout(() => stop(), Math.max(0, ms));
    const onAbort = () => stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Creating the watch is itself a request: right after a server restart it can hang for
      // the client's request timeout, so it counts against the same budget.
      const creating = this.storage.indexKv.watch({ key: id, include: KvWatchInclude.LastValue });
      const watcher = await Promise.race([creating, new Promise<undefined>((r) => (stop = () => r(undefined)))]);
      if (!watcher || expired) {
        creating.then((w) => w.stop(), () => undefined);
        return undefined;
      }
      stop = () => watcher.stop();
      try {
        for await (const e of watcher) {
          if (e.operation !== 'PUT') continue;
          const entry = decodeIndexEntry(e.value);
          if (isTerminalStatus(entry.status)) return entry;
        }
        return undefined;
      } finally {
        watcher.stop();
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Reads the history in pages of about `limit` events, from stream sequence `fromSeq`. */
  history(id: string, opts: { fromSeq?: number; limit?: number } = {}): Promise<HistoryPage> {
    assertInstanceId(id, true);
    return readHistoryPage(this.storage, id, opts);
  }

  /**
   * The instance's events as an async iterator: from where the caller needs them, then live.
   * Later GraphQL subscriptions use this: a late subscriber reads from the start, or from the
   * latest message (the current state), then follows.
   */
  watch(id: string, opts: WatchOptions = {}): AsyncGenerator<RecordedEvent, void, undefined> {
    assertInstanceId(id, true);
    return watchInstance(this.storage, id, opts);
  }

  /**
   * Deletes a finished instance's history and inbox (and those of its sub-orchestrations); the
   * index keeps its summary, marked purged.
   */
  purge(id: string): Promise<{ purged: string[] }> {
    assertInstanceId(id, true);
    return purgeInstance(this.storage, id);
  }

  /** Lists instances from the index, newest first, filtered and paged. */
  async list(opts: ListOptions = {}): Promise<ListPage> {
    const limit = opts.limit ?? 100;
    if (!(limit >= 1 && limit <= 10_000)) throw invalidArgument(`list limit must be 1..10000, got ${limit}`);
    const statuses = opts.status === undefined ? undefined : new Set(Array.isArray(opts.status) ? opts.status : [opts.status]);
    let after: { createdAt: number; id: string } | undefined;
    if (opts.cursor) {
      try {
        after = JSON.parse(Buffer.from(opts.cursor, 'base64url').toString('utf8')) as { createdAt: number; id: string };
      } catch {
        throw invalidArgument('list cursor is not valid: pass the cursor of the previous page unchanged');
      }
    }
    const all = (await this.storage.index.listAll()).filter(
      (e) =>
        (opts.tenant === undefined || e.tenant === opts.tenant) &&
        (!statuses || statuses.has(e.status)) &&
        (opts.orchestration === undefined || e.orchestration === opts.orchestration) &&
        (opts.includeChildren || e.parentId === undefined),
    );
    all.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let start = 0;
    if (after) {
      const a = after;
      start = all.findIndex((e) => e.createdAt < a.createdAt || (e.createdAt === a.createdAt && e.id > a.id));
      if (start < 0) start = all.length;
    }
    const slice = all.slice(start, start + limit);
    const items = await Promise.all(slice.map((e) => this.#toStatus(e, false)));
    const page: ListPage = { items };
    if (start + limit < all.length) {
      const last = slice[slice.length - 1];
      page.cursor = Buffer.from(JSON.stringify({ createdAt: last.createdAt, id: last.id })).toString('base64url');
    }
    return page;
  }
}
