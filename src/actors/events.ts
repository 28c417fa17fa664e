// The events of an instance's history, as stored. One JetStream message on the history subject
// carries a batch of them (group commit). Every event that carries a user value stores it as
// msgpack bytes inline (`v`) or, above the inline limit, as a content-addressed blob (`ref`).
//
// Three families:
// - lifecycle: Started, ContinuedAsNew (the start of a new generation), Activated (a host took
//   ownership: its first append fences out any previous owner), and the terminal events;
// - op records: what the code decided that replay cannot re-derive (a timer's fire time, a
//   clock reading, a sub-orchestration's id, a status update), keyed by the op's `seq`;
// - deliveries: what happened to the instance (an activity finished, a timer fired, an event
//   arrived), each tagged with the `turn` it was delivered in, so replay feeds the code exactly
//   the same inputs in the same groups.
import type { ErrorInfo } from '../common/errors.ts';

/** A user value: inline msgpack bytes, or a blob ref with the value's encoded size. */
export interface StoredValue {
  v?: Uint8Array;
  ref?: string;
  size?: number;
}

export interface ParentRef {
  id: string;
  generation: number;
  seq: number;
}

export interface StartedEvent extends StoredValue {
  type: 'Started';
  orchestration: string;
  generation: 0;
  seed: number;
  at: number;
  tenant?: string;
  parent?: ParentRef;
}

export interface ContinuedAsNewEvent extends StoredValue {
  type: 'ContinuedAsNew';
  orchestration: string;
  generation: number;
  seed: number;
  at: number;
  /** Events received by the last generation but not yet consumed by its code. */
  carried: EventRaisedEvent[];
  /** Inbox messages below this stream sequence were all consumed or carried. */
  inboxFloor: number;
  /** Carried from Started, which the purge of older generations removes. */
  tenant?: string;
  parent?: ParentRef;
}

export interface ActivatedEvent {
  type: 'Activated';
  host: string;
  at: number;
}

// --- op records -------------------------------------------------------------------------------

export interface TimerCreatedEvent {
  type: 'TimerCreated';
  seq: number;
  fireAt: number;
  /** 'sleep' for ctx.sleep, 'wait' for the timeout of ctx.waitForEvent. */
  purpose: 'sleep' | 'wait';
  name?: string;
}

export interface NowEvent {
  type: 'Now';
  seq: number;
  t: number;
}

export interface SubStartedEvent {
  type: 'SubStarted';
  seq: number;
  orchestration: string;
  childId: string;
}

export interface StatusSetEvent extends StoredValue {
  type: 'StatusSet';
  seq: number;
}

export type OpRecordEvent = TimerCreatedEvent | NowEvent | SubStartedEvent | StatusSetEvent;

// --- deliveries -------------------------------------------------------------------------------

interface DeliveryBase {
  /** The turn in which the code received it; deliveries of one turn reach the code together. */
  turn?: number;
  /** Received while the instance was suspended; delivered when it resumed. */
  held?: boolean;
}

export interface ActivityCompletedEvent extends DeliveryBase, StoredValue {
  type: 'ActivityCompleted';
  seq: number;
  name: string;
  attempts?: number;
}

export interface ActivityFailedEvent extends DeliveryBase {
  type: 'ActivityFailed';
  seq: number;
  name: string;
  error: ErrorInfo;
  attempts?: number;
}

export interface TimerFiredEvent extends DeliveryBase {
  type: 'TimerFired';
  seq: number;
}

export interface SubCompletedEvent extends DeliveryBase, StoredValue {
  type: 'SubCompleted';
  seq: number;
  eid: string;
  childId: string;
  error?: ErrorInfo;
}

export interface EventRaisedEvent extends DeliveryBase, StoredValue {
  type: 'EventRaised';
  eid: string;
  name: string;
}

export interface CancelRequestedEvent extends DeliveryBase {
  type: 'CancelRequested';
  eid: string;
  reason: string;
}

export interface SuspendedEvent extends DeliveryBase {
  type: 'Suspended';
  eid: string;
  reason: string;
}

export interface ResumedEvent extends DeliveryBase {
  type: 'Resumed';
  eid: string;
}

export interface TerminatedEvent extends DeliveryBase {
  type: 'Terminated';
  eid: string;
  reason: string;
  at: number;
}

export type DeliveryEvent =
  | ActivityCompletedEvent
  | ActivityFailedEvent
  | TimerFiredEvent
  | SubCompletedEvent
  | EventRaisedEvent
  | CancelRequestedEvent
  | SuspendedEvent
  | ResumedEvent
  | TerminatedEvent;

// --- terminal ---------------------------------------------------------------------------------

export interface CompletedEvent extends StoredValue {
  type: 'Completed';
  at: number;
}

export interface FailedEvent {
  type: 'Failed';
  error: ErrorInfo;
  at: number;
}

export interface CanceledEvent {
  type: 'Canceled';
  reason: string;
  at: number;
}

export type HistoryEvent =
  | StartedEvent
  | ContinuedAsNewEvent
  | ActivatedEvent
  | OpRecordEvent
  | DeliveryEvent
  | CompletedEvent
  | FailedEvent
  | CanceledEvent;

export type HistoryEventType = HistoryEvent['type'];

const DELIVERY_TYPES: ReadonlySet<string> = new Set([
  'ActivityCompleted',
  'ActivityFailed',
  'TimerFired',
  'SubCompleted',
  'EventRaised',
  'CancelRequested',
  'Suspended',
  'Resumed',
  'Terminated',
]);

export function isDelivery(e: HistoryEvent): e is DeliveryEvent {
  return DELIVERY_TYPES.has(e.type);
}

/** Events after which the instance runs no more code. */
export function isTerminal(e: HistoryEvent): e is CompletedEvent | FailedEvent | CanceledEvent | TerminatedEvent {
  return e.type === 'Completed' || e.type === 'Failed' || e.type === 'Canceled' || e.type === 'Terminated';
}

/** Events that begin a generation (the code starts from its input). */
export function isGenerationStart(e: HistoryEvent): e is StartedEvent | ContinuedAsNewEvent {
  return e.type === 'Started' || e.type === 'ContinuedAsNew';
}
