// Binary encoding of histories, inbox messages and user values: msgpack (msgpackr) with a format
// version in front of every message. A history message is the msgpack sequence
//   {v: FORMAT_VERSION}, event, event, ...
// so a batch is split or joined by concatenating separately encoded events (group commit encodes
// each event once, when it is recorded), and a reader refuses a version it does not know instead
// of misreading it.
import { Packr } from 'msgpackr';
import { CodedError, type ErrorInfo } from '../common/errors.ts';
import type { HistoryEvent } from './events.ts';

export const FORMAT_VERSION = 1;

// Records (msgpackr's shared structures) are off: every message must decode on its own, years
// later, in another process.
const packr = new Packr({ useRecords: false, moreTypes: false });

const HEADER = packr.pack({ v: FORMAT_VERSION });

export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

export function encodeEvent(event: HistoryEvent): Uint8Array {
  return packr.pack(event);
}

/** Joins separately encoded events into one history message. */
export function joinBatch(encodedEvents: readonly Uint8Array[], totalBytes?: number): Uint8Array {
  const size = totalBytes ?? encodedEvents.reduce((n, e) => n + e.length, 0);
  const out = new Uint8Array(HEADER.length + size);
  out.set(HEADER, 0);
  let at = HEADER.length;
  for (const e of encodedEvents) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

export function batchHeaderBytes(): number {
  return HEADER.length;
}

function unsupported(found: unknown, what: string): CodedError {
  return new CodedError(
    'CODEC_VERSION',
    `this ${what} was written in format version ${String(found)}, but this runtime reads version ${FORMAT_VERSION}; run a runtime that knows that version (never downgrade a cluster that has written newer data).`,
    { details: { found, supported: FORMAT_VERSION } },
  );
}

/** Decodes one history message into its events. */
export function decodeBatch(bytes: Uint8Array): HistoryEvent[] {
  let items: unknown[];
  try {
    items = packr.unpackMultiple(bytes) as unknown[];
  } catch (err) {
    throw new CodedError('CODEC_CORRUPT', `a history message cannot be decoded (${(err as Error).message}); the stream holds data this runtime did not write.`, { cause: err });
  }
  const header = items[0] as { v?: unknown } | undefined;
  if (!header || header.v !== FORMAT_VERSION) throw unsupported(header?.v, 'history message');
  items.shift();
  return items as HistoryEvent[];
}

// --- inbox messages: what clients and child instances send to an instance's owner -------------

export type InboxMessage =
  | { kind: 'event'; eid: string; name: string; v?: Uint8Array; ref?: string; size?: number }
  | { kind: 'cancel'; eid: string; reason: string }
  | { kind: 'terminate'; eid: string; reason: string }
  | { kind: 'suspend'; eid: string; reason: string }
  | { kind: 'resume'; eid: string }
  | {
      kind: 'subDone';
      eid: string;
      childId: string;
      generation: number;
      seq: number;
      v?: Uint8Array;
      ref?: string;
      size?: number;
      error?: ErrorInfo;
    };

export function encodeInbox(msg: InboxMessage): Uint8Array {
  return joinBatch([packr.pack(msg)]);
}

export function decodeInbox(bytes: Uint8Array): InboxMessage {
  const items = packr.unpackMultiple(bytes) as unknown[];
  const header = items[0] as { v?: unknown } | undefined;
  if (!header || header.v !== FORMAT_VERSION) throw unsupported(header?.v, 'inbox message');
  const msg = items[1] as InboxMessage | undefined;
  if (!msg || typeof msg !== 'object' || typeof (msg as { eid?: unknown }).eid !== 'string') {
    throw new CodedError('CODEC_CORRUPT', 'an inbox message has no event id; only the actor client may publish to inbox subjects.');
  }
  return msg;
}
