// The inbox: a second subject per instance (`<ns>.<id>.inbox`) in the same stream, where clients
// and child instances send external events, control requests and results. They never append to
// the history subject (that would break the owner's expected-sequence fencing): the owner reads
// the inbox, delivers each message at once, and records its consumption (by event id) in the
// history with its next append. In memory first, durable always:
// - the owner's core subscription on the subject receives every message JetStream stores there
//   (as soon as the server routes it), so delivery does not wait for a consumer;
// - the stored copy is what an activation reads back to find messages not yet consumed;
// - the event id doubles as the JetStream msg id, so a retried publish is stored once (the core
//   subscription may see it twice; the owner de-duplicates by event id).
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeInbox, encodeInbox, type InboxMessage } from './codec.ts';
import { readSubject } from './journal.ts';

export interface StoredInboxMessage {
  seq: number;
  msg: InboxMessage;
}

export function subscribeInbox(nc: NatsConnection, subject: string, onMessage: (msg: InboxMessage) => void, onBadMessage: (err: unknown) => void): Subscription {
  return nc.subscribe(subject, {
    callback: (err, m) => {
      if (err) return;
      try {
        onMessage(decodeInbox(m.data));
      } catch (e) {
        onBadMessage(e);
      }
    },
  });
}

export async function readInbox(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  fromSeq: number,
  onBadMessage: (err: unknown) => void,
): Promise<StoredInboxMessage[]> {
  const out: StoredInboxMessage[] = [];
  for (const m of await readSubject(js, jsm, stream, subject, Math.max(1, fromSeq))) {
    try {
      out.push({ seq: m.seq, msg: decodeInbox(m.data) });
    } catch (e) {
      onBadMessage(e);
    }
  }
  return out;
}

/** Stores a message in an instance's inbox; the event id is the de-duplication key. */
export async function publishInbox(js: JetStreamClient, subject: string, msg: InboxMessage): Promise<number> {
  const ack = await js.publish(subject, encodeInbox(msg), { msgID: msg.eid, timeout: 5_000 });
  return ack.seq;
}
