// A resident instance: one activated orchestration in a host. It owns the instance's journal
// writer (the only writer while its lease holds), its executor (the continuation, kept in
// memory), its timers, activity calls and inbox subscription.
//
// Activation reads the history once, replays it (O(events)), appends Activated (which fences out
// any previous owner), then runs live: each delivery is applied in a turn and recorded; the code
// never waits for the append (group commit sends it in the background), but at most
// `maxUnackedEvents` may be unacknowledged before turns pause. Results leave the instance only
// after they are stored: a parent is notified, the index updated and the lease released once the
// terminal event is acknowledged.
import { randomInt, randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { toErrorInfo, type ErrorInfo } from '../common/errors.ts';
import { sleepOrReconnect, type NatsConnection } from '../common/nats.ts';
import { ActivityRunner } from './activity-runner.ts';
import type { ActorClient, ChildOutcome } from './client.ts';
import { decodeBatch, decodeValue, type InboxMessage } from './codec.ts';
import type { OrchestrationRegistry, RetryPolicy } from './context.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { FencedError } from './errors.ts';
import type {
  ContinuedAsNewEvent,
  DeliveryEvent,
  EventRaisedEvent,
  HistoryEvent,
  OpRecordEvent,
  ParentRef,
  StoredValue,
} from './events.ts';
import { Executor, type Delivery, type ExecutorSink, type Outcome } from './executor.ts';
import { readInbox, subscribeInbox, type StoredInboxMessage } from './inbox.ts';
import type { IndexEntry, InstanceStatusName } from './instance-index.ts';
import { JournalWriter, readSubject } from './journal.ts';
import type { Lease, LeaseManager } from './leases.ts';
import { digestHistory, planReplay, replayTurns, type HistoryDigest } from './replay.ts';
import type { ActorStorage } from './storage.ts';
import { TimerSet } from './timers.ts';
import { loadInline } from './values.ts';

export type StopReason = 'finished' | 'fenced' | 'lost' | 'shutdown' | 'halted' | 'failed' | 'missing' | 'unknown-orchestration';

export interface InstanceServices {
  storage: ActorStorage;
  client: ActorClient;
  leases: LeaseManager;
  dispatcher: Dispatcher;
  orchestrations: OrchestrationRegistry;
  hostId: string;
  log: Logger;
  defaultRetry: RetryPolicy;
  maxUnackedEvents: number;
  maxTurnDeliveries: number;
  /** Start activities and children only after what led to them is stored. */
  strict: boolean;
  /** Claim and activate a freshly started child in this host if it can. */
  adoptChild(childId: string): void;
  onStopped(rt: InstanceRuntime, reason: StopReason): void;
  onFenced(rt: InstanceRuntime, err: FencedError): void;
}

type State = 'activating' | 'running' | 'continuing' | 'finishing' | 'draining' | 'stopped';

const CONTROL_TYPES: ReadonlySet<string> = new Set(['CancelRequested', 'Terminated', 'Suspended', 'Resumed']);
const SEEN_LIMIT = 100_000;

export class InstanceRuntime {
  readonly id: string;
  readonly lease: Lease;
  #state: State = 'activating';
  #executor!: Executor;
  #journal: JournalWriter | undefined;
  #queue: Delivery[] = [];
  #seen = new Set<string>();
  #early: InboxMessage[] | undefined = [];
  #sub: Subscription | undefined;
  #inboxTail: Promise<void> | undefined;
  #turnScheduled = false;
  #blockedOnJournal = false;
  #generation = 0;
  #orchestration = '';
  #tenant: string | undefined;
  #parent: ParentRef | undefined;
  #inboxFloor = 1;
  #entry!: IndexEntry;
  #baseStats = { events: 0, appends: 0, bytes: 0, turns: 0 };
  #finishing: Promise<void> | undefined;
  readonly #svc: InstanceServices;
  readonly #timers = new TimerSet();
  readonly #activities: ActivityRunner;
  readonly #sink: ExecutorSink;
  readonly #log: Logger;

  private constructor(svc: InstanceServices, id: string, lease: Lease) {
    this.#svc = svc;
    this.id = id;
    this.lease = lease;
    this.#log = svc.log.child({ instance: id });
    this.#activities = new ActivityRunner(svc.dispatcher, svc.defaultRetry);
    this.#sink = this.#makeSink();
  }

  /** Activates an instance this host holds the lease of; undefined if there is nothing to run. */
  static async activate(svc: InstanceServices, id: string, lease: Lease): Promise<InstanceRuntime | undefined> {
    const rt = new InstanceRuntime(svc, id, lease);
    const running = await rt.#activate();
    return running ? rt : undefined;
  }

  get state(): string {
    return this.#state;
  }
  get generation(): number {
    return this.#generation;
  }
  /** Resumptions the executor ran in this activation (start and turns, replay included). */
  get turnsRun(): number {
    return this.#executor?.turnsRun ?? 0;
  }
  get journalStats() {
    return this.#journal?.stats;
  }
  get inFlightActivities(): number {
    return this.#activities.inFlight;
  }

  // --- activation ------------------------------------------------------------------------------

  async #activate(): Promise<boolean> {
    const { storage } = this.#svc;
    const { js, jsm, names, index, nc } = storage;
    const onBad = (err: unknown) => this.#log.warn({ err }, 'ignored an inbox message that cannot be decoded');
    this.#sub = subscribeInbox(nc, names.inboxSubject(this.id), (m) => this.#onInbox(m), onBad);
    try {
      const [raw, entry] = await Promise.all([readSubject(js, jsm, names.stream, names.historySubject(this.id)), index.get(this.id)]);
      if (raw.length === 0) {
        this.#log.warn('no history to activate (never started, or purged)');
        this.#stop('missing', true);
        return false;
      }
      const messages = raw.map((m) => ({ seq: m.seq, events: decodeBatch(m.data) }));
      const digest = digestHistory(messages);
      this.#baseStats = { events: digest.eventCount, appends: raw.length, bytes: raw.reduce((n, m) => n + m.data.length, 0), turns: entry?.stats?.turns ?? 0 };
      const start = digest.start;
      if (!start) {
        this.#log.error('history has no Started event; leaving it alone');
        this.#stop('failed', true);
        return false;
      }
      this.#orchestration = start.orchestration;
      this.#generation = start.generation;
      this.#tenant = start.tenant;
      this.#parent = start.parent;
      this.#inboxFloor = start.type === 'ContinuedAsNew' ? start.inboxFloor : 1;
      this.#entry = entry ?? this.#freshEntry(start.at);
      if (digest.terminal) {
        await this.#finalizeFromHistory(digest);
        return false;
      }
      const fn = this.#svc.orchestrations[start.orchestration];
      if (!fn) {
        this.#log.error({ orchestration: start.orchestration }, `orchestration '${start.orchestration}' is not registered on this host; releasing the instance for a host that has it`);
        this.#stop('unknown-orchestration', true);
        return false;
      }
      this.#journal = this.#newJournal(digest.lastSeq);
      this.#journal.push({ type: 'Activated', host: this.#svc.hostId, at: Date.now() });

      const blobValues = await this.#prefetchBlobs(start, digest.events);
      const valueOf = (s: StoredValue): unknown => (s.ref !== undefined ? blobValues.get(s.ref) : loadInline(s));
      const decode = (e: DeliveryEvent): Delivery => ({ event: e, value: valueOf(e as StoredValue) });
      const carried = start.type === 'ContinuedAsNew' ? start.carried.map(decode) : [];
      this.#seen = digest.consumedEids;
      this.#mergeSummary(digest.statusValues.map(valueOf));

      const inboxRead = readInbox(js, jsm, names.stream, names.inboxSubject(this.id), this.#inboxFloor, onBad);
      inboxRead.catch(() => undefined);
      const { plan, turns } = planReplay(digest.events);
      this.#executor = new Executor({
        instanceId: this.id,
        generation: this.#generation,
        seed: start.seed,
        orchestration: start.orchestration,
        fn,
        input: valueOf(start),
        sink: this.#sink,
        plan,
        carried,
      });
      await replayTurns(this.#executor, turns, decode);
      if (this.#state !== 'activating') return this.#state !== 'stopped';

      // Inbox messages not yet consumed: those stored before now (in stream order), then those
      // the subscription received meanwhile (duplicates drop out by event id).
      const stored = await inboxRead;
      // A message the server routed just before our subscription took effect, but stored just
      // after the read above, would be in neither: look once more past what was read.
      const lastRead = stored.length ? stored[stored.length - 1].seq : this.#inboxFloor - 1;
      stored.push(...(await readInbox(js, jsm, names.stream, names.inboxSubject(this.id), lastRead + 1, onBad)));
      const early = this.#early ?? [];
      this.#early = undefined;
      for (const s of stored) this.#onInbox(s.msg);
      for (const m of early) this.#onInbox(m);

      this.#state = 'running';
      this.#executor.endReplay();
      if (this.#state === 'running') {
        this.#entry.status = this.#executor.suspended ? 'SUSPENDED' : 'RUNNING';
        this.#writeIndex();
      }
      if (digest.hasOlderGenerations) this.#purgeOlder(digest.startSeq, this.#inboxFloor);
      this.#scheduleTurn();
      return (this.#state as State) !== 'stopped';
    } catch (err) {
      this.#log.error({ err }, 'activation failed; releasing the instance');
      this.#stop('failed', true);
      return false;
    }
  }

  #freshEntry(at: number): IndexEntry {
    const e: IndexEntry = { v: 1, id: this.id, orchestration: this.#orchestration, status: 'RUNNING', createdAt: at, updatedAt: at, generation: this.#generation, summary: {} };
    if (this.#tenant !== undefined) e.tenant = this.#tenant;
    if (this.#parent) e.parentId = this.#parent.id;
    return e;
  }

  async #prefetchBlobs(start: StoredValue & { carried?: EventRaisedEvent[] }, events: readonly HistoryEvent[]): Promise<Map<string, unknown>> {
    const refs = new Set<string>();
    const add = (s: StoredValue) => {
      if (s.ref !== undefined) refs.add(s.ref);
    };
    add(start);
    for (const c of start.carried ?? []) add(c);
    for (const e of events) add(e as StoredValue);
    const out = new Map<string, unknown>();
    await Promise.all([...refs].map(async (ref) => out.set(ref, decodeValue(await this.#svc.storage.values.blobs.get(ref)))));
    return out;
  }

  #newJournal(lastSeq: number): JournalWriter {
    return new JournalWriter({
      js: this.#svc.storage.js,
      nc: this.#svc.storage.nc,
      subject: this.#svc.storage.names.historySubject(this.id),
      instanceId: this.id,
      lastSeq,
      writerId: `${this.#svc.hostId}.${randomUUID()}`,
      onFenced: (err) => {
        this.#log.warn({ err }, 'append fenced: another host owns this instance now; deactivating');
        this.#svc.onFenced(this, err);
        this.#stop('fenced', false);
      },
      onFailed: (err) => {
        this.#log.error({ err }, 'the journal cannot append; deactivating and releasing the instance');
        this.#stop('failed', true);
      },
    });
  }

  // --- the executor's sink -----------------------------------------------------------------------

  #makeSink(): ExecutorSink {
    return {
      recordOp: (event: OpRecordEvent, value?: unknown) => this.#recordOp(event, value),
      recordDelivery: (d: Delivery, turn: number, held: boolean) => {
        d.event.turn = turn;
        if (held) d.event.held = true;
        const type = d.event.type;
        if (type === 'Suspended' || type === 'Resumed') {
          const status: InstanceStatusName = type === 'Suspended' ? 'SUSPENDED' : 'RUNNING';
          this.#journal!.push(d.event, () => {
            this.#entry.status = status;
            this.#writeIndex();
          });
        } else {
          this.#journal!.push(d.event);
        }
      },
      dispatch: (seq, name, input, options) => this.#dispatch(seq, name, input, options),
      abortActivity: (seq) => this.#activities.abort(seq),
      armTimer: (seq, fireAt) => {
        const gen = this.#generation;
        this.#timers.arm(seq, fireAt, () => {
          if (gen === this.#generation) this.#enqueue({ event: { type: 'TimerFired', seq } });
        });
      },
      disarmTimer: (seq) => this.#timers.disarm(seq),
      startSub: (seq, orchestration, childId, input) => this.#startSub(seq, orchestration, childId, input),
      cancelSub: (childId, reason, terminate) => {
        const c = this.#svc.client;
        (terminate ? c.terminate(childId, reason) : c.cancel(childId, reason)).catch((err: unknown) => this.#log.warn({ err, childId }, 'could not pass cancel/terminate on to a sub-orchestration'));
      },
      finished: (outcome) => this.#onFinished(outcome),
      fatal: (error) => {
        this.#log.error({ err: error }, 'orchestration failed by the runtime');
        this.#onFinished({ kind: 'failed', error: toErrorInfo(error) });
      },
    };
  }

  #recordOp(event: OpRecordEvent, value: unknown): void {
    const journal = this.#journal!;
    if (event.type !== 'StatusSet') {
      journal.push(event);
      return;
    }
    const fields = { ...(value as Record<string, unknown>) };
    const onCommit = () => {
      this.#mergeSummary([fields]);
      this.#writeIndex();
    };
    let prepared;
    try {
      prepared = this.#svc.storage.values.prepare(fields);
    } catch (err) {
      this.#sink.fatal(err as never);
      return;
    }
    const { stored } = prepared;
    journal.push(stored instanceof Promise ? stored.then((s) => ({ ...event, ...s })) : { ...event, ...stored }, onCommit);
  }

  #mergeSummary(list: readonly unknown[]): void {
    for (const f of list) if (f && typeof f === 'object') Object.assign(this.#entry.summary, f);
  }

  /** Runs an outward effect now, or (strict durability) once everything recorded so far is stored. */
  #whenDurable(fn: () => void): void {
    if (!this.#svc.strict) return fn();
    const gen = this.#generation;
    this.#journal!.sync().then(
      () => {
        if (gen === this.#generation && this.#state !== 'stopped') fn();
      },
      () => undefined,
    );
  }

  #dispatch(seq: number, name: string, input: unknown, options: Parameters<ExecutorSink['dispatch']>[3]): void {
    this.#whenDurable(() => {
      if (this.#executor.isPending(seq)) this.#run(seq, name, input, options);
    });
  }

  #run(seq: number, name: string, input: unknown, options: Parameters<ExecutorSink['dispatch']>[3]): void {
    const gen = this.#generation;
    this.#activities.run({ instanceId: this.id, generation: gen, seq, name, input, options }, (outcome) => {
      if (gen !== this.#generation || this.#state === 'stopped') return;
      if (!outcome.ok) {
        this.#enqueue({ event: { type: 'ActivityFailed', seq, name, error: outcome.error, attempts: outcome.attempts } });
        return;
      }
      let prepared;
      try {
        prepared = this.#svc.storage.values.prepare(outcome.value);
      } catch (err) {
        this.#enqueue({ event: { type: 'ActivityFailed', seq, name, error: toErrorInfo(err), attempts: outcome.attempts } });
        return;
      }
      const value = decodeValue(prepared.bytes);
      const deliver = (s: StoredValue) => this.#enqueue({ event: { type: 'ActivityCompleted', seq, name, attempts: outcome.attempts, ...s }, value });
      if (prepared.stored instanceof Promise) {
        prepared.stored.then(deliver, (err: unknown) => {
          // The result cannot be stored: give the instance up so it activates again (and the
          // call runs again) once storage is back.
          this.#log.error({ err, seq, name }, 'cannot store an activity result; deactivating');
          this.#stop('failed', true);
        });
      } else {
        deliver(prepared.stored);
      }
    });
  }

  #startSub(seq: number, orchestration: string, childId: string, input: unknown): void {
    this.#whenDurable(() => {
      if (this.#executor.isPending(seq)) this.#startChild(seq, orchestration, childId, input);
    });
  }

  #startChild(seq: number, orchestration: string, childId: string, input: unknown): void {
    const parent: ParentRef = { id: this.id, generation: this.#generation, seq };
    const child = { id: childId, orchestration, input, parent, ...(this.#tenant !== undefined ? { tenant: this.#tenant } : {}) };
    this.#svc.client.startChild(child).then(
      () => this.#svc.adoptChild(childId),
      (err: unknown) => {
        if (this.#generation !== parent.generation) return;
        this.#enqueue({ event: { type: 'SubCompleted', seq, eid: `sub-${childId}`, childId, error: toErrorInfo(err, 'SUB_START_FAILED') } });
      },
    );
  }

  // --- inbox -----------------------------------------------------------------------------------

  #onInbox(msg: InboxMessage): void {
    if (this.#early) {
      this.#early.push(msg);
      return;
    }
    if (this.#state === 'stopped' || this.#seen.has(msg.eid)) return;
    this.#seen.add(msg.eid);
    if (this.#seen.size > SEEN_LIMIT) this.#seen = new Set([...this.#seen].slice(-SEEN_LIMIT / 2));
    const needsBlob = 'ref' in msg && msg.ref !== undefined;
    if (!needsBlob && !this.#inboxTail) {
      const d = this.#inboxDelivery(msg, undefined);
      if (d) this.#enqueue(d);
      return;
    }
    // Keep inbox order while a blob is fetched.
    const prev = this.#inboxTail ?? Promise.resolve();
    const tail = prev
      .then(async () => {
        const value = needsBlob ? await this.#svc.storage.values.load(msg as StoredValue) : undefined;
        const d = this.#inboxDelivery(msg, value);
        if (d) this.#enqueue(d);
      })
      .catch((err: unknown) => this.#log.error({ err, eid: msg.eid }, 'cannot load an inbox message value'))
      .finally(() => {
        if (this.#inboxTail === tail) this.#inboxTail = undefined;
      });
    this.#inboxTail = tail;
  }

  #inboxDelivery(msg: InboxMessage, blobValue: unknown): Delivery | undefined {
    const stored = (m: StoredValue): StoredValue => {
      const s: StoredValue = {};
      if (m.v !== undefined) s.v = m.v;
      if (m.ref !== undefined) {
        s.ref = m.ref;
        s.size = m.size;
      }
      return s;
    };
    const valueOf = (m: StoredValue) => (m.ref !== undefined ? blobValue : loadInline(m));
    switch (msg.kind) {
      case 'event':
        return { event: { type: 'EventRaised', eid: msg.eid, name: msg.name, ...stored(msg) }, value: valueOf(msg) };
      case 'cancel':
        return { event: { type: 'CancelRequested', eid: msg.eid, reason: msg.reason } };
      case 'terminate':
        return { event: { type: 'Terminated', eid: msg.eid, reason: msg.reason, at: Date.now() } };
      case 'suspend':
        return { event: { type: 'Suspended', eid: msg.eid, reason: msg.reason } };
      case 'resume':
        return { event: { type: 'Resumed', eid: msg.eid } };
      case 'subDone': {
        if (msg.generation !== this.#generation) return undefined;
        const event: DeliveryEvent = { type: 'SubCompleted', seq: msg.seq, eid: msg.eid, childId: msg.childId, ...stored(msg) };
        if (msg.error) event.error = msg.error;
        return { event, value: msg.error ? undefined : valueOf(msg) };
      }
    }
  }

  // --- turns -----------------------------------------------------------------------------------

  #enqueue(d: Delivery): void {
    if (this.#state === 'stopped' || this.#state === 'finishing') return;
    this.#queue.push(d);
    this.#scheduleTurn();
  }

  #scheduleTurn(): void {
    if (this.#turnScheduled || this.#state !== 'running' || this.#queue.length === 0) return;
    this.#turnScheduled = true;
    setImmediate(this.#runTurn);
  }

  readonly #runTurn = (): void => {
    this.#turnScheduled = false;
    if (this.#state !== 'running' || this.#queue.length === 0) return;
    const journal = this.#journal!;
    if (journal.unacked >= this.#svc.maxUnackedEvents) {
      // Back-pressure: the code may run ahead of the journal by a bounded amount only, which
      // also bounds the work repeated after a crash.
      if (!this.#blockedOnJournal) {
        this.#blockedOnJournal = true;
        journal.onProgress(() => {
          this.#blockedOnJournal = false;
          this.#scheduleTurn();
        });
      }
      return;
    }
    const max = this.#svc.maxTurnDeliveries;
    const batch = this.#queue.length <= max ? this.#queue.splice(0) : this.#queue.splice(0, max);
    this.#executor.runTurn(batch);
    this.#scheduleTurn();
  };

  // --- endings ---------------------------------------------------------------------------------

  #onFinished(outcome: Outcome): void {
    if (this.#state === 'finishing' || this.#state === 'stopped' || this.#state === 'continuing') return;
    if (outcome.kind === 'continuedAsNew') {
      void this.#continueAsNew(outcome.input, outcome.carried);
      return;
    }
    this.#state = 'finishing';
    this.#activities.abortAll();
    this.#timers.clear();
    const journal = this.#journal!;
    const now = Date.now();
    let status: InstanceStatusName;
    let childOutcome: ChildOutcome;
    let output: StoredValue | Promise<StoredValue> | undefined;
    let error: ErrorInfo | undefined;
    switch (outcome.kind) {
      case 'completed': {
        status = 'COMPLETED';
        try {
          output = this.#svc.storage.values.prepare(outcome.output).stored;
        } catch (err) {
          error = toErrorInfo(err);
          status = 'FAILED';
          journal.push({ type: 'Failed', error, at: now });
          break;
        }
        const out = output;
        journal.push(out instanceof Promise ? out.then((s) => ({ type: 'Completed', at: now, ...s })) : { type: 'Completed', at: now, ...out });
        break;
      }
      case 'failed':
        status = 'FAILED';
        error = outcome.error;
        journal.push({ type: 'Failed', error, at: now });
        break;
      case 'canceled':
        status = 'CANCELED';
        error = { code: 'CANCELED', message: outcome.reason, retryable: false };
        journal.push({ type: 'Canceled', reason: outcome.reason, at: now });
        break;
      case 'terminated':
        // The Terminated delivery is already recorded.
        status = 'TERMINATED';
        error = { code: 'TERMINATED', message: outcome.reason, retryable: false };
        break;
    }
    this.#finishing = (async () => {
      try {
        await journal.sync();
        const storedOutput = status === 'COMPLETED' && output ? await output : undefined;
        childOutcome = storedOutput ? { value: storedOutput } : { error: error! };
        await this.#report(status, storedOutput, error, childOutcome);
        await this.#svc.leases.release(this.lease).catch(() => undefined);
        this.#stop('finished', false);
      } catch (err) {
        if (this.#state !== 'stopped') {
          this.#log.error({ err }, 'could not finish cleanly; releasing the instance so activation finishes it');
          this.#stop('failed', true);
        }
      }
    })();
  }

  /** Tells the parent, then the index: the index turning terminal ends the orphan scan's interest. */
  async #report(status: InstanceStatusName, output: StoredValue | undefined, error: ErrorInfo | undefined, childOutcome: ChildOutcome): Promise<void> {
    if (this.#parent) await retry(this.#svc.storage.nc, () => this.#svc.client.notifyParent(this.#parent!, this.id, childOutcome), () => this.#state === 'stopped');
    const now = Date.now();
    this.#entry.status = status;
    this.#entry.completedAt = now;
    if (output) this.#entry.output = output;
    if (error) this.#entry.error = error;
    await retry(this.#svc.storage.nc, () => this.#svc.storage.index.write(this.#stamp()), () => this.#state === 'stopped');
  }

  /** An instance whose history already ends: make sure parent and index know, then let go. */
  async #finalizeFromHistory(digest: HistoryDigest): Promise<void> {
    const t = digest.terminal!;
    let status: InstanceStatusName;
    let output: StoredValue | undefined;
    let error: ErrorInfo | undefined;
    switch (t.type) {
      case 'Completed':
        status = 'COMPLETED';
        output = { ...(t.v !== undefined ? { v: t.v } : {}), ...(t.ref !== undefined ? { ref: t.ref, size: t.size } : {}) };
        break;
      case 'Failed':
        status = 'FAILED';
        error = t.error;
        break;
      case 'Canceled':
        status = 'CANCELED';
        error = { code: 'CANCELED', message: t.reason, retryable: false };
        break;
      case 'Terminated':
        status = 'TERMINATED';
        error = { code: 'TERMINATED', message: t.reason, retryable: false };
        break;
    }
    this.#state = 'finishing';
    try {
      await this.#report(status, output, error, output ? { value: output } : { error: error! });
    } finally {
      await this.#svc.leases.release(this.lease).catch(() => undefined);
      this.#stop('finished', false);
    }
  }

  async #continueAsNew(input: unknown, carriedByCode: Delivery[]): Promise<void> {
    this.#state = 'continuing';
    this.#activities.abortAll();
    this.#timers.clear();
    const { storage } = this.#svc;
    const { js, jsm, names } = storage;
    try {
      const journal = this.#journal!;
      const onBad = (err: unknown) => this.#log.warn({ err }, 'ignored an inbox message that cannot be decoded');
      const stored: StoredInboxMessage[] = await readInbox(js, jsm, names.stream, names.inboxSubject(this.id), this.#inboxFloor, onBad);
      // Everything received and not consumed is carried into the new generation (events), or
      // stays queued for it (control requests); results for the old generation are dropped.
      const carried: Delivery[] = [...carriedByCode];
      const keep: Delivery[] = [];
      for (const d of this.#queue) {
        if (d.event.type === 'EventRaised') carried.push(d);
        else if (CONTROL_TYPES.has(d.event.type)) keep.push(d);
      }
      const pendingEids = new Set<string>();
      for (const d of keep) if ('eid' in d.event) pendingEids.add(d.event.eid);
      for (const s of stored) {
        if (this.#seen.has(s.msg.eid)) continue;
        this.#seen.add(s.msg.eid);
        if (s.msg.kind === 'event') {
          const value = await storage.values.load(s.msg);
          const d = this.#inboxDelivery(s.msg, value);
          if (d) carried.push(d);
        } else if (s.msg.kind !== 'subDone') {
          const d = this.#inboxDelivery(s.msg, undefined);
          if (d) {
            keep.push(d);
            pendingEids.add(s.msg.eid);
          }
        }
      }
      // The new floor: past every stored message, except control requests not yet recorded
      // (they must stay readable until the new generation records them).
      let floor = stored.length ? stored[stored.length - 1].seq + 1 : this.#inboxFloor;
      for (const s of stored) {
        if (pendingEids.has(s.msg.eid)) {
          floor = Math.min(floor, s.seq);
          break;
        }
      }
      this.#queue = keep;
      this.#baseStats.turns += this.#executor.turnsRun;
      const prepared = storage.values.prepare(input);
      const storedInput = await prepared.stored;
      const generation = this.#generation + 1;
      const seed = randomInt(0, 2 ** 32);
      const cleanCarried = carried.map((d) => {
        const { turn: _t, held: _h, ...rest } = d.event as EventRaisedEvent;
        return { ...rest, type: 'EventRaised' as const };
      });
      const ev: ContinuedAsNewEvent = {
        type: 'ContinuedAsNew',
        orchestration: this.#orchestration,
        generation,
        seed,
        at: Date.now(),
        carried: cleanCarried,
        inboxFloor: floor,
        ...storedInput,
      };
      if (this.#tenant !== undefined) ev.tenant = this.#tenant;
      if (this.#parent) ev.parent = this.#parent;
      journal.push(
        ev,
        (seq) => {
          this.#purgeOlder(seq, floor);
          this.#entry.generation = Math.max(this.#entry.generation, generation);
          this.#writeIndex();
        },
        { startsMessage: true },
      );
      this.#generation = generation;
      this.#inboxFloor = floor;
      const fn = this.#svc.orchestrations[this.#orchestration];
      this.#executor = new Executor({
        instanceId: this.id,
        generation,
        seed,
        orchestration: this.#orchestration,
        fn,
        input: decodeValue(prepared.bytes),
        sink: this.#sink,
        carried: carried.map((d, i) => ({ event: cleanCarried[i], value: d.value })),
      });
      this.#state = 'running';
      this.#executor.start();
      this.#scheduleTurn();
    } catch (err) {
      if ((this.#state as State) === 'stopped') return;
      this.#log.error({ err }, 'continue-as-new failed; releasing the instance so activation retries it');
      this.#stop('failed', true);
    }
  }

  /** Drops the messages of older generations (history) and consumed inbox messages. */
  #purgeOlder(historyBelow: number, inboxBelow: number): void {
    const { jsm, names } = this.#svc.storage;
    Promise.all([
      jsm.streams.purge(names.stream, { filter: names.historySubject(this.id), seq: historyBelow }),
      inboxBelow > 1 ? jsm.streams.purge(names.stream, { filter: names.inboxSubject(this.id), seq: inboxBelow }) : undefined,
    ]).catch((err: unknown) => this.#log.warn({ err }, 'could not purge older generations (they are skipped on replay; a later activation retries)'));
  }

  // --- index -----------------------------------------------------------------------------------

  #stamp(): IndexEntry {
    const j = this.#journal?.stats;
    this.#entry.updatedAt = Date.now();
    this.#entry.stats = {
      events: this.#baseStats.events + (j?.events ?? 0),
      appends: this.#baseStats.appends + (j?.appends ?? 0),
      bytes: this.#baseStats.bytes + (j?.bytes ?? 0),
      turns: this.#baseStats.turns + (this.#executor?.turnsRun ?? 0),
    };
    return { ...this.#entry, summary: { ...this.#entry.summary } };
  }

  #writeIndex(): void {
    this.#svc.storage.index.write(this.#stamp()).catch((err: unknown) => this.#log.warn({ err }, 'index update failed (the next one carries the same state)'));
  }

  // --- stopping --------------------------------------------------------------------------------

  /**
   * Graceful handover: stop running turns, give activities in flight up to `drainMs` to finish,
   * record their results unapplied (the next owner replays them instead of running them
   * again), wait for the journal, release the lease.
   */
  async deactivate(drainMs: number): Promise<void> {
    if (this.#state === 'finishing' && this.#finishing) {
      // Let it end properly (terminal event stored, parent and index told, lease released).
      await withTimeout(this.#finishing, Math.max(drainMs, 5_000)).catch(() => undefined);
      if ((this.#state as State) !== 'stopped') this.#stop('shutdown', false);
      return;
    }
    if (this.#state !== 'running') {
      if (this.#state !== 'stopped') this.#stop('shutdown', this.#state !== 'finishing');
      return;
    }
    this.#state = 'draining';
    await this.#activities.idle(drainMs);
    if (this.#state !== 'draining') return;
    await this.#inboxTail;
    this.#executor.recordWithoutApplying(this.#queue.splice(0));
    try {
      await withTimeout(this.#journal!.sync(), 5_000);
    } catch (err) {
      this.#log.warn({ err }, 'journal did not settle before release');
    }
    this.#stop('shutdown', true);
  }

  /** Stops at once without writing or releasing anything, as a crash would (tests, benchmarks). */
  halt(): void {
    this.#stop('halted', false);
  }

  /** Stops after this host lost the lease (another host claimed it). */
  lost(): void {
    this.#stop('lost', false);
  }

  #stop(reason: StopReason, release: boolean): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#activities.abortAll();
    this.#timers.clear();
    this.#sub?.unsubscribe();
    this.#journal?.stop(new Error(`instance stopped: ${reason}`));
    if (release) this.#svc.leases.release(this.lease).catch((err: unknown) => this.#log.warn({ err }, 'lease release failed (it lapses instead)'));
    this.#svc.onStopped(this, reason);
  }
}

async function retry<T>(nc: NatsConnection, fn: () => Promise<T>, stopped: () => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (stopped() || attempt >= 30) throw err;
      await sleepOrReconnect(nc, Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)));
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}
