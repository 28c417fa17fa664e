// Reading an instance's history back: in pages, or as a live async iterator that starts where the
// reader needs (the beginning, the latest message = the current state, only what comes next, or a
// stream sequence) and follows new events as they are stored. GraphQL subscriptions build on it:
// a late subscriber first gets the state, then the updates.
import { DeliverPolicy } from '@nats-io/jetstream';
import { decodeBatch } from './codec.ts';
import { instanceNotFound } from './errors.ts';
import { isTerminal, type HistoryEvent, type StoredValue } from './events.ts';
import { isTerminalStatus } from './instance-index.ts';
import { readSubject } from './journal.ts';
import type { ActorStorage } from './storage.ts';

/** One history event as read back: its message's stream sequence, its place in the message. */
export interface RecordedEvent {
  seq: number;
  index: number;
  /** Whether it is the last event of its message (a message holds one group commit's events). */
  last: boolean;
  /** Server time of the message, ms since the epoch. */
  time: number;
  event: HistoryEvent;
  /** The event's user value, decoded (fetched from the blob store if it was offloaded). */
  value?: unknown;
}

export interface HistoryPage {
  events: RecordedEvent[];
  /** Pass as `fromSeq` for the next page; absent on the last page. */
  nextSeq?: number;
}

export interface WatchOptions {
  /**
   * Where to begin: 'start' (the whole current history), 'latest' (the last stored message, then
   * live), 'new' (only what comes next), or a stream sequence.
   */
  from?: 'start' | 'latest' | 'new' | number;
  /** End the iteration after a terminal event. Default true. */
  untilDone?: boolean;
  signal?: AbortSignal;
}

async function recorded(storage: ActorStorage, seq: number, index: number, last: boolean, time: number, event: HistoryEvent): Promise<RecordedEvent> {
  const r: RecordedEvent = { seq, index, last, time, event };
  const s = event as StoredValue;
  if (s.v !== undefined || s.ref !== undefined) r.value = await storage.values.load(s);
  return r;
}

export async function readHistoryPage(storage: ActorStorage, id: string, opts: { fromSeq?: number; limit?: number }): Promise<HistoryPage> {
  const { js, jsm, names } = storage;
  const limit = Math.max(1, opts.limit ?? 1_000);
  const subject = names.historySubject(id);
  const messages = await readSubject(js, jsm, names.stream, subject, opts.fromSeq ?? 1, limit);
  const events: RecordedEvent[] = [];
  let lastSeq = 0;
  for (const m of messages) {
    lastSeq = m.seq;
    const batch = decodeBatch(m.data);
    for (let i = 0; i < batch.length; i++) events.push(await recorded(storage, m.seq, i, i === batch.length - 1, m.time, batch[i]));
    if (events.length >= limit) break;
  }
  const page: HistoryPage = { events };
  if (lastSeq > 0) {
    const last = await jsm.streams.getMessage(names.stream, { last_by_subj: subject });
    if (last && last.seq > lastSeq) page.nextSeq = lastSeq + 1;
  }
  return page;
}

export async function* watchInstance(storage: ActorStorage, id: string, opts: WatchOptions): AsyncGenerator<RecordedEvent, void, undefined> {
  const { js, names } = storage;
  const entry = await storage.index.get(id);
  if (!entry) throw instanceNotFound(id);
  const untilDone = opts.untilDone ?? true;
  if (untilDone && entry.purgedAt !== undefined) return;
  const from = opts.from ?? 'start';
  if (untilDone && from === 'new' && isTerminalStatus(entry.status)) return;
  const policy =
    typeof from === 'number'
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }
      : { deliver_policy: from === 'start' ? DeliverPolicy.All : from === 'latest' ? DeliverPolicy.Last : DeliverPolicy.New };
  const consumer = await js.consumers.get(names.stream, { filter_subjects: names.historySubject(id), ...policy, inactive_threshold: 30_000 });
  const messages = await consumer.consume({ max_messages: 256 });
  const stop = () => void messages.close();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of messages) {
      const batch = decodeBatch(m.data);
      const time = Math.floor(m.info.timestampNanos / 1_000_000);
      for (let i = 0; i < batch.length; i++) {
        yield await recorded(storage, m.seq, i, i === batch.length - 1, time, batch[i]);
        if (untilDone && isTerminal(batch[i])) return;
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    // Neither is awaited: close() settles only once the iterator processes its stop, which
    // can wait for the pending pull to expire (30 s) after the loop has been left.
    messages.close().catch(() => undefined);
    consumer.delete().catch(() => undefined);
  }
}
