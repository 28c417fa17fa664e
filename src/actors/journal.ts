// The journal: an instance's history on its own subject of the stream.
//
// Appends are fenced: every message carries Nats-Expected-Last-Subject-Sequence = the sequence
// of the owner's previous message, so once another host has appended (its first act on taking
// over), this writer's next append is rejected and it stops. Each message also carries a
// Nats-Msg-Id unique to this writer's activation, so a publish retried after a lost ack is
// de-duplicated by the server (which answers with the original sequence) instead of being taken
// for a fence. The msg id must never be derived from the sequence alone: two owners appending
// at the same expected sequence would then de-duplicate into each other.
//
// Group commit: fencing serialises appends per subject, so while one append is in flight the
// writer gathers everything recorded meanwhile and sends it as the next message (a message is a
// batch of separately encoded events, up to maxBatchBytes).
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import { CodedError } from '../common/errors.ts';
import { isTransient, isWrongLastSequence, sleepOrReconnect, type NatsConnection } from '../common/nats.ts';
import { batchHeaderBytes, encodeEvent, joinBatch } from './codec.ts';
import { FencedError } from './errors.ts';
import type { HistoryEvent } from './events.ts';

export const DEFAULT_MAX_BATCH_BYTES = 512 * 1024;

export interface JournalOptions {
  js: JetStreamClient;
  /** When given, a retry waiting out a server outage wakes as soon as the connection is back. */
  nc?: NatsConnection;
  subject: string;
  instanceId: string;
  /** Sequence of the last message on the subject when this writer took over (0: none). */
  lastSeq: number;
  /** Unique per activation: the prefix of every msg id this writer sends. */
  writerId: string;
  maxBatchBytes?: number;
  publishTimeoutMs?: number;
  /** Called once if an append is fenced (another owner wrote). */
  onFenced(err: FencedError): void;
  /** Called once if the journal cannot go on (an event could not be prepared, a bad payload). */
  onFailed(err: unknown): void;
}

type Commit = (seq: number) => void;

interface Entry {
  bytes?: Uint8Array;
  pending?: Promise<HistoryEvent>;
  onCommit?: Commit;
  /** Begins a new message (so a purge below that message drops everything before the event). */
  boundary?: boolean;
}

interface SyncWaiter {
  target: number;
  resolve(seq: number): void;
  reject(err: unknown): void;
}

export interface JournalStats {
  appends: number;
  events: number;
  bytes: number;
  retries: number;
}

export class JournalWriter {
  readonly stats: JournalStats = { appends: 0, events: 0, bytes: 0, retries: 0 };
  readonly #opts: JournalOptions;
  readonly #maxBatchBytes: number;
  readonly #queue: Entry[] = [];
  readonly #waiters: SyncWaiter[] = [];
  readonly #progress: Array<() => void> = [];
  #lastSeq: number;
  #batchNo = 0;
  #pushed = 0;
  #acked = 0;
  #inFlight = false;
  #scheduled = false;
  #stopped: unknown = undefined;

  constructor(opts: JournalOptions) {
    this.#opts = opts;
    this.#lastSeq = opts.lastSeq;
    this.#maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  }

  /** Sequence of the last message this writer knows is on the subject. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Events recorded but not yet acknowledged by the server. */
  get unacked(): number {
    return this.#pushed - this.#acked;
  }

  get stopped(): boolean {
    return this.#stopped !== undefined;
  }

  /**
   * Records an event (or a promise of one, for values still being offloaded). Events are
   * appended in the order recorded. `onCommit` runs with the message's sequence once stored.
   */
  push(event: HistoryEvent | Promise<HistoryEvent>, onCommit?: Commit, opts: { startsMessage?: boolean } = {}): void {
    if (this.#stopped !== undefined) return;
    const entry: Entry = event instanceof Promise ? { pending: event, onCommit } : { bytes: encodeEvent(event), onCommit };
    if (opts.startsMessage) entry.boundary = true;
    this.#queue.push(entry);
    this.#pushed++;
    this.#schedule();
  }

  /** Resolves (with the last message's sequence) once everything recorded so far is stored. */
  sync(): Promise<number> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    if (this.#acked >= this.#pushed) return Promise.resolve(this.#lastSeq);
    return new Promise((resolve, reject) => this.#waiters.push({ target: this.#pushed, resolve, reject }));
  }

  /** Calls `fn` once after the next acknowledged append (used for back-pressure). */
  onProgress(fn: () => void): void {
    this.#progress.push(fn);
  }

  /** Stops without writing what is still queued (deactivation after a fence or a crash test). */
  stop(reason: unknown): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    this.#queue.length = 0;
    for (const w of this.#waiters.splice(0)) w.reject(reason);
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    // After the current turn: everything the code records in this turn goes in one message.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#inFlight) return;
    this.#inFlight = true;
    try {
      while (this.#queue.length > 0 && this.#stopped === undefined) {
        const batch = await this.#takeBatch();
        if (this.#stopped !== undefined || batch.length === 0) break;
        await this.#append(batch);
      }
    } catch (err) {
      if (this.#stopped === undefined) {
        this.stop(err);
        if (err instanceof FencedError) this.#opts.onFenced(err);
        else this.#opts.onFailed(err);
      }
    } finally {
      this.#inFlight = false;
    }
    if (this.#queue.length > 0 && this.#stopped === undefined) this.#schedule();
  }

  async #takeBatch(): Promise<Entry[]> {
    const batch: Entry[] = [];
    let bytes = batchHeaderBytes();
    while (this.#queue.length > 0) {
      const entry = this.#queue[0];
      if (entry.boundary && batch.length > 0) break;
      if (entry.pending) {
        // A value is still being offloaded: send what is ready before it first.
        if (batch.length > 0) break;
        entry.bytes = encodeEvent(await entry.pending);
        entry.pending = undefined;
        if (this.#stopped !== undefined) return [];
      }
      const size = entry.bytes!.length;
      if (batch.length > 0 && bytes + size > this.#maxBatchBytes) break;
      this.#queue.shift();
      batch.push(entry);
      bytes += size;
    }
    return batch;
  }

  async #append(batch: Entry[]): Promise<void> {
    const payload = joinBatch(batch.map((e) => e.bytes!));
    const msgID = `${this.#opts.writerId}-${this.#batchNo++}`;
    const expected = this.#lastSeq;
    for (let attempt = 0; ; attempt++) {
      if (this.#stopped !== undefined) throw this.#stopped;
      try {
        const ack = await this.#opts.js.publish(this.#opts.subject, payload, {
          msgID,
          expect: { lastSubjectSequence: expected },
          timeout: this.#opts.publishTimeoutMs ?? 2_000,
        });
        this.#committed(batch, ack.seq, payload.length);
        return;
      } catch (err) {
        if (isWrongLastSequence(err)) throw new FencedError(this.#opts.instanceId, expected, err);
        if (!isTransient(err)) throw err;
        // The server is away (restarting, failing over): try again with the same msg id, so an
        // append that did land is answered as a duplicate with its original sequence.
        this.stats.retries++;
        await sleepOrReconnect(this.#opts.nc, Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  #committed(batch: Entry[], seq: number, bytes: number): void {
    this.#lastSeq = seq;
    this.#acked += batch.length;
    this.stats.appends++;
    this.stats.events += batch.length;
    this.stats.bytes += bytes;
    for (const e of batch) e.onCommit?.(seq);
    while (this.#waiters.length > 0 && this.#waiters[0].target <= this.#acked) this.#waiters.shift()!.resolve(seq);
    for (const fn of this.#progress.splice(0)) fn();
  }
}

// --- reading ------------------------------------------------------------------------------------

export interface StoredMessage {
  seq: number;
  data: Uint8Array;
  /** Server timestamp, ms since the epoch. */
  time: number;
}

/**
 * Reads the messages on one subject from `fromSeq` up to the subject's last message at the time
 * of the call (or `maxMessages` of them), in order, with an ordered consumer (one subject
 * filter: fine on nats-server 2.9). If the consumer cannot be made or stops delivering (after
 * one server of a cluster dies, nats-server 2.9 keeps placing some new consumers on the dead
 * server for minutes), the rest is read with message gets by subject from the stream leader, one
 * request per message: slower, but it needs no consumer. Without this an activation failed and
 * its job stayed without a host for a minute or more in the fault suite.
 */
export async function readSubject(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  fromSeq = 1,
  maxMessages = Infinity,
): Promise<StoredMessage[]> {
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (!last || last.seq < fromSeq) return [];
  if (last.seq === fromSeq) return [{ seq: last.seq, data: last.data, time: last.time.getTime() }];
  const out: StoredMessage[] = [];
  let stalled: unknown;
  try {
    await readWithConsumer(js, stream, subject, fromSeq, last.seq, maxMessages, out);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'READ_STALLED') stalled = err;
  }
  // Whatever the consumer did not deliver (nothing, if it could not be made).
  let seq = out.length ? out[out.length - 1].seq : fromSeq - 1;
  while (seq < last.seq && out.length < maxMessages) {
    // `next_by_subj` (nats-server 2.9+) is missing from the client's type for the non-direct get.
    const m = await jsm.streams.getMessage(stream, { next_by_subj: subject, seq: seq + 1 } as unknown as { seq: number });
    if (!m || m.seq > last.seq) {
      // Gone before its last message: purged while we read.
      if (stalled) throw stalled;
      break;
    }
    out.push({ seq: m.seq, data: m.data, time: m.time.getTime() });
    seq = m.seq;
  }
  return out;
}

async function readWithConsumer(js: JetStreamClient, stream: string, subject: string, fromSeq: number, lastSeq: number, maxMessages: number, out: StoredMessage[]): Promise<void> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    ...(fromSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq } : { deliver_policy: DeliverPolicy.All }),
    inactive_threshold: 30_000,
  });
  const messages = await consumer.consume({ max_messages: 2_000 });
  // If the subject is purged while we read, the last message never comes: give up rather than hang.
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      messages.stop();
    }, 15_000);
  };
  arm();
  try {
    for await (const m of messages) {
      arm();
      out.push({ seq: m.seq, data: m.data, time: Math.floor(m.info.timestampNanos / 1_000_000) });
      if (m.seq >= lastSeq || out.length >= maxMessages) break;
    }
    if (stalled) {
      throw new CodedError('READ_STALLED', `reading ${subject} stopped receiving messages before its last sequence ${lastSeq} (purged meanwhile, or the server is overloaded); try again.`, { retryable: true });
    }
  } finally {
    clearTimeout(timer);
    // Neither is awaited: close() settles only once the iterator processes its stop, which
    // can wait for the pending pull to expire (30 s) after the loop has been left.
    messages.close().catch(() => undefined);
    consumer.delete().catch(() => undefined);
  }
}
