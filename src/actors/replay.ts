// Replay: rebuilds a resident instance from its history, once, on activation. It reads the
// history's current generation, builds the plan the executor checks new steps against, and feeds
// the recorded deliveries back turn by turn, draining the code between turns exactly as the
// live run did. Linear in the number of events; no step is re-executed against the world.
import type { ErrorInfo } from '../common/errors.ts';
import type { Delivery, Executor, ExpectedStep, ReplayPlan } from './executor.ts';
import {
  isDelivery,
  isGenerationStart,
  isTerminal,
  type ContinuedAsNewEvent,
  type DeliveryEvent,
  type HistoryEvent,
  type StartedEvent,
  type StoredValue,
} from './events.ts';

export interface HistoryMessage {
  /** Stream sequence of the message. */
  seq: number;
  events: HistoryEvent[];
}

/** What an activation needs to know from a full history read. */
export interface HistoryDigest {
  /** Sequence of the last message: the owner's next append expects it. */
  lastSeq: number;
  /** The event that began the current generation, and the stream sequence of its message. */
  start: StartedEvent | ContinuedAsNewEvent | undefined;
  startSeq: number;
  /** Events of the current generation after its start event. */
  events: HistoryEvent[];
  terminal: Extract<HistoryEvent, { type: 'Completed' | 'Failed' | 'Canceled' | 'Terminated' }> | undefined;
  /** Inbox event ids already consumed in this generation (including carried ones). */
  consumedEids: Set<string>;
  /** Messages before `startSeq` belong to older generations and may be purged. */
  hasOlderGenerations: boolean;
  /** Summary fields merged from this generation's StatusSet events (values still encoded). */
  statusValues: StoredValue[];
  eventCount: number;
}

export function digestHistory(messages: readonly HistoryMessage[]): HistoryDigest {
  let start: StartedEvent | ContinuedAsNewEvent | undefined;
  let startSeq = 0;
  let events: HistoryEvent[] = [];
  let terminal: HistoryDigest['terminal'];
  let eventCount = 0;
  const statusValues: StoredValue[] = [];
  for (const m of messages) {
    for (const e of m.events) {
      eventCount++;
      if (isGenerationStart(e)) {
        start = e;
        startSeq = m.seq;
        events = [];
        statusValues.length = 0;
        terminal = undefined;
        continue;
      }
      events.push(e);
      if (e.type === 'StatusSet') statusValues.push(e);
      if (isTerminal(e)) terminal = e;
    }
  }
  const consumedEids = new Set<string>();
  if (start?.type === 'ContinuedAsNew') for (const c of start.carried) consumedEids.add(c.eid);
  for (const e of events) if ('eid' in e && typeof e.eid === 'string') consumedEids.add(e.eid);
  return {
    lastSeq: messages.length ? messages[messages.length - 1].seq : 0,
    start,
    startSeq,
    events,
    terminal,
    consumedEids,
    hasOlderGenerations: messages.length > 0 && messages[0].seq < startSeq,
    statusValues,
    eventCount,
  };
}

/** The plan the executor checks steps against, and the recorded turns in order. */
export function planReplay(events: readonly HistoryEvent[]): { plan: ReplayPlan; turns: DeliveryEvent[][] } {
  const expected = new Map<number, ExpectedStep>();
  const records: ReplayPlan['records'] = new Map();
  let maxSeq = 0;
  const turns: DeliveryEvent[][] = [];
  let current: DeliveryEvent[] | undefined;
  let currentTurn = -1;
  for (const e of events) {
    switch (e.type) {
      case 'TimerCreated':
        expected.set(e.seq, e.purpose === 'sleep' ? { kind: 'timer', name: '' } : { kind: 'wait', name: e.name ?? '' });
        records.set(e.seq, e);
        break;
      case 'Now':
        expected.set(e.seq, { kind: 'now', name: '' });
        records.set(e.seq, e);
        break;
      case 'SubStarted':
        expected.set(e.seq, { kind: 'sub', name: e.orchestration });
        records.set(e.seq, e);
        break;
      case 'StatusSet':
        expected.set(e.seq, { kind: 'status', name: '' });
        records.set(e.seq, e);
        break;
      case 'ActivityCompleted':
      case 'ActivityFailed':
        expected.set(e.seq, { kind: 'activity', name: e.name });
        break;
      default:
        break;
    }
    if ('seq' in e && typeof e.seq === 'number' && e.seq > maxSeq) maxSeq = e.seq;
    if (isDelivery(e)) {
      const turn = e.turn ?? -1;
      if (!current || turn !== currentTurn) {
        current = [];
        turns.push(current);
        currentTurn = turn;
      }
      current.push(e);
    }
  }
  return { plan: { expected, records, maxSeq }, turns };
}

/** Highest turn number recorded, so live turns continue after it. */
export function lastTurn(turns: readonly DeliveryEvent[][]): number {
  const last = turns[turns.length - 1];
  return last ? (last[0].turn ?? 0) : 0;
}

export type DeliveryDecoder = (event: DeliveryEvent) => Delivery;

/** Lets all pending promise continuations run, so the code reaches its next wait. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs the recorded turns through a freshly started executor. Stops early if the executor
 * finds a divergence (it fails the instance through its sink).
 */
export async function replayTurns(executor: Executor, turns: readonly DeliveryEvent[][], decode: DeliveryDecoder): Promise<void> {
  executor.start();
  await drainMicrotasks();
  for (const turn of turns) {
    if (executor.fatalError) return;
    executor.runTurn(turn.map(decode));
    await drainMicrotasks();
  }
  executor.setTurnBase(lastTurn(turns));
}

/** Error info for a history that cannot be replayed at all. */
export function noStartError(id: string): ErrorInfo {
  return { code: 'HISTORY_CORRUPT', message: `instance '${id}' has a history without a Started event; it cannot be replayed. Purge it and start it again.`, retryable: false };
}
