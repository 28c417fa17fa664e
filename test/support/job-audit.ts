// Audits a job's stored history straight from JetStream, message by message with its headers:
//
// - writers: every append carries Nats-Msg-Id `<hostId>.<activation uuid>-<batch number>`, so
//   each message names the activation that wrote it and its place in that writer's sequence;
//   a writer's batch numbers must run 0, 1, 2... with no gap (an append lost) and no repeat (an
//   append stored twice);
// - fencing: once a newer activation has written, an older one must never write again (a stale
//   owner's append accepted);
// - events: each step (`seq`) is settled at most once (one ActivityCompleted/Failed, TimerFired
//   or SubCompleted), each op record and each inbox event id appears once, one Started and one
//   terminal event; the job's status updates carry `rev` 1, 2, 3... with no gap and no repeat;
//   delivery turns never go backwards.
// Lost = writer batch gaps + status rev gaps; doubled = writer batch repeats + events repeated.
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '../../src/common/nats.ts';
import { decodeBatch } from '../../src/actors/codec.ts';
import type { HistoryEvent } from '../../src/actors/events.ts';
import { loadInline } from '../../src/actors/values.ts';

export interface JournalMessage {
  streamSeq: number;
  /** ms since the epoch (server time). */
  time: number;
  msgId: string;
  /** The activation that wrote it ('start' for the client's Started message). */
  writer: string;
  batch: number;
  events: HistoryEvent[];
}

export interface JobAudit {
  id: string;
  messages: number;
  events: number;
  lost: number;
  doubled: number;
  /** Messages an older activation wrote after a newer one had written (fencing broken). */
  staleWrites: number;
  /** Hosts in order of their Activated events, with the time. */
  /**
   * Each activation: its host, its time, and the time of the last message stored before it (the
   * previous owner's last durable write; 0 for the first), so a harness knows which answered
   * calls no owner can have recorded.
   */
  activations: Array<{ host: string; at: number; lastStoredBefore: number }>;
  /** Kernel activities (kernel.prepare/step/preview/finish) recorded as completed. */
  kernelCompleted: number;
  /** Server times of the messages holding a kernel activity's completion. */
  kernelCompletionTimes: number[];
  /** Kernel activity attempts that failed before the recorded one (each may have run its call). */
  kernelRetriedAttempts: number;
  terminal: string | undefined;
  problems: string[];
}

const KERNEL = new Set(['kernel.prepare', 'kernel.step', 'kernel.preview', 'kernel.finish']);

/** Every message on the job's history subject, in order, with its writer. */
export async function readJournal(nc: NatsConnection, stream: string, subject: string): Promise<JournalMessage[]> {
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const js = jetstream(nc, { timeout: 10_000 });
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (!last) return [];
  const consumer = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All, inactive_threshold: 30_000 });
  const out: JournalMessage[] = [];
  const iter = await consumer.consume({ max_messages: 1_000 });
  const timer = setTimeout(() => iter.stop(), 30_000);
  try {
    for await (const m of iter) {
      const msgId = m.headers?.get('Nats-Msg-Id') ?? '';
      const dash = msgId.lastIndexOf('-');
      const isStart = msgId.startsWith('start-');
      out.push({
        streamSeq: m.seq,
        time: Math.floor(m.info.timestampNanos / 1_000_000),
        msgId,
        writer: isStart ? 'start' : msgId.slice(0, dash),
        batch: isStart ? 0 : Number(msgId.slice(dash + 1)),
        events: decodeBatch(m.data),
      });
      if (m.seq >= last.seq) break;
    }
  } finally {
    clearTimeout(timer);
    iter.close().catch(() => undefined);
    consumer.delete().catch(() => undefined);
  }
  if (out.length === 0 || out[out.length - 1].streamSeq < last.seq) throw new Error(`read ${out.length} messages of ${subject}, stopped before its last (${last.seq})`);
  return out;
}

export function auditJournal(id: string, messages: readonly JournalMessage[]): JobAudit {
  const a: JobAudit = { id, messages: messages.length, events: 0, lost: 0, doubled: 0, staleWrites: 0, activations: [], kernelCompleted: 0, kernelCompletionTimes: [], kernelRetriedAttempts: 0, terminal: undefined, problems: [] };
  // --- writers: batch sequences and fencing
  const batches = new Map<string, number[]>();
  const retired = new Set<string>();
  let current: string | undefined;
  const seenMsgIds = new Set<string>();
  for (const m of messages) {
    if (seenMsgIds.has(m.msgId)) {
      a.doubled++;
      a.problems.push(`message ${m.msgId} stored twice (stream seq ${m.streamSeq})`);
    }
    seenMsgIds.add(m.msgId);
    if (m.writer !== current) {
      if (retired.has(m.writer)) {
        a.staleWrites++;
        a.problems.push(`stale write: ${m.writer} appended at stream seq ${m.streamSeq} after a newer owner`);
        continue;
      }
      if (current) retired.add(current);
      current = m.writer;
    }
    if (m.writer === 'start') continue;
    let list = batches.get(m.writer);
    if (!list) batches.set(m.writer, (list = []));
    list.push(m.batch);
  }
  for (const [writer, list] of batches) {
    const distinct = new Set(list);
    if (distinct.size !== list.length) {
      a.doubled += list.length - distinct.size;
      a.problems.push(`${writer}: a batch stored twice`);
    }
    const max = Math.max(...list);
    if (distinct.size < max + 1 || Math.min(...list) !== 0) {
      const missing = max + 1 - distinct.size;
      a.lost += missing;
      a.problems.push(`${writer}: ${missing} batch(es) missing of 0..${max}`);
    }
  }
  // --- events
  const settled = new Set<number>();
  const records = new Set<string>();
  const eids = new Set<string>();
  const revs: number[] = [];
  let starts = 0;
  let terminals = 0;
  let lastTurn = -Infinity;
  let previousTime = 0;
  for (const m of messages) {
    const storedBefore = previousTime;
    previousTime = m.time;
    for (const e of m.events) {
      a.events++;
      switch (e.type) {
        case 'Started':
        case 'ContinuedAsNew':
          starts++;
          break;
        case 'Activated':
          a.activations.push({ host: e.host, at: e.at, lastStoredBefore: storedBefore });
          break;
        case 'TimerCreated':
        case 'Now':
        case 'SubStarted':
        case 'StatusSet': {
          const key = `${e.type}/${e.seq}`;
          if (records.has(key)) {
            a.doubled++;
            a.problems.push(`${key} recorded twice`);
          }
          records.add(key);
          if (e.type === 'StatusSet') {
            const v = e.v ? (loadInline(e) as { rev?: unknown }) : undefined;
            if (typeof v?.rev === 'number') revs.push(v.rev);
          }
          break;
        }
        case 'Completed':
        case 'Failed':
        case 'Canceled':
          terminals++;
          a.terminal = e.type;
          break;
        default:
          break;
      }
      if (e.type === 'ActivityCompleted' || e.type === 'ActivityFailed' || e.type === 'TimerFired' || e.type === 'SubCompleted') {
        if (settled.has(e.seq)) {
          a.doubled++;
          a.problems.push(`step ${e.seq} settled twice (${e.type})`);
        }
        settled.add(e.seq);
        if ((e.type === 'ActivityCompleted' || e.type === 'ActivityFailed') && KERNEL.has(e.name)) a.kernelRetriedAttempts += Math.max(0, (e.attempts ?? 1) - 1);
        if (e.type === 'ActivityCompleted' && KERNEL.has(e.name)) {
          a.kernelCompleted++;
          a.kernelCompletionTimes.push(m.time);
        }
      }
      if ('eid' in e && typeof e.eid === 'string') {
        if (eids.has(e.eid)) {
          a.doubled++;
          a.problems.push(`inbox event ${e.eid} recorded twice`);
        }
        eids.add(e.eid);
      }
      if ('turn' in e && typeof e.turn === 'number') {
        if (e.turn < lastTurn) a.problems.push(`turn ${e.turn} after turn ${lastTurn}`);
        lastTurn = Math.max(lastTurn, e.turn);
      }
      if (e.type === 'Terminated') {
        terminals++;
        a.terminal = e.type;
      }
    }
  }
  if (starts !== 1) a.problems.push(`${starts} Started events`);
  if (starts > 1) a.doubled += starts - 1;
  if (terminals > 1) {
    a.doubled += terminals - 1;
    a.problems.push(`${terminals} terminal events`);
  }
  const revSet = new Set(revs);
  if (revSet.size !== revs.length) {
    a.doubled += revs.length - revSet.size;
    a.problems.push('a status rev recorded twice');
  }
  if (revs.length > 0) {
    const max = Math.max(...revs);
    if (revSet.size < max || Math.min(...revs) !== 1) {
      a.lost += max - revSet.size;
      a.problems.push(`status revs: ${max - revSet.size} missing of 1..${max}`);
    }
  }
  return a;
}

/**
 * How long a job's kernel progress took to resume after each fault instant: the time from the
 * fault to the job's first kernel completion stored after it (ms), the worst over the instants.
 * Undefined if the job had finished before every fault or had not started by then.
 */
export function recoveryAfter(times: readonly number[], faults: readonly number[]): number | undefined {
  let worst: number | undefined;
  for (const f of faults) {
    if (!times.some((t) => t <= f)) continue;
    const after = times.filter((t) => t > f);
    if (after.length === 0) continue;
    const gap = Math.min(...after) - f;
    worst = worst === undefined ? gap : Math.max(worst, gap);
  }
  return worst;
}
