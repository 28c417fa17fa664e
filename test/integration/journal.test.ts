import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../src/common/nats.ts';
import { decodeBatch } from '../../src/actors/codec.ts';
import { JournalWriter, readSubject } from '../../src/actors/journal.ts';
import type { FencedError } from '../../src/actors/errors.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { uniqueNamespace } from '../support/actors.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.dispose();
});

async function setup() {
  const nc = await connectNats({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const ns = uniqueNamespace('j');
  const stream = ns.toUpperCase();
  await jsm.streams.add({ name: stream, subjects: [`${ns}.>`] });
  return { nc, js, jsm, stream, subject: `${ns}.i1.events` };
}

function writer(js: ReturnType<typeof jetstream>, subject: string, lastSeq: number, writerId: string, fenced: FencedError[] = []) {
  return new JournalWriter({ js, subject, instanceId: 'i1', lastSeq, writerId, onFenced: (e) => fenced.push(e), onFailed: (e) => assert.fail(String(e)) });
}

test('events recorded while an append is in flight go out together in the next message (group commit)', async () => {
  const { nc, js, jsm, stream, subject } = await setup();
  try {
    const w = writer(js, subject, 0, 'A');
    for (let i = 1; i <= 500; i++) {
      w.push({ type: 'Now', seq: i, t: i });
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await w.sync();
    const messages = await readSubject(js, jsm, stream, subject);
    const events = messages.flatMap((m) => decodeBatch(m.data));
    assert.deepEqual(
      events.map((e) => (e as { seq: number }).seq),
      Array.from({ length: 500 }, (_, i) => i + 1),
      'every event once, in order',
    );
    assert.ok(messages.length < 500 / 5, `${messages.length} messages for 500 events`);
    assert.equal(w.stats.events, 500);
    assert.equal(w.stats.appends, messages.length);
  } finally {
    await nc.close();
  }
});

test('a stale writer is fenced: its append expecting an old sequence is rejected and nothing of it is stored', async () => {
  const { nc, js, jsm, stream, subject } = await setup();
  try {
    const fencedA: FencedError[] = [];
    const a = writer(js, subject, 0, 'A', fencedA);
    a.push({ type: 'Now', seq: 1, t: 1 });
    const seqA = await a.sync();
    // B takes over from what it read: its first append moves the subject on.
    const b = writer(js, subject, seqA, 'B');
    b.push({ type: 'Activated', host: 'B', at: 2 });
    await b.sync();
    a.push({ type: 'Now', seq: 2, t: 3 });
    await assert.rejects(a.sync(), (e: Error & { code?: string }) => e.code === 'FENCED');
    assert.equal(fencedA.length, 1);
    assert.equal(a.stopped, true);
    const events = (await readSubject(js, jsm, stream, subject)).flatMap((m) => decodeBatch(m.data));
    assert.deepEqual(
      events.map((e) => e.type),
      ['Now', 'Activated'],
    );
  } finally {
    await nc.close();
  }
});

test('a publish retried with the same msg id is answered as a duplicate with the original sequence, not fenced', async () => {
  const { nc, js, subject } = await setup();
  try {
    const first = await js.publish(subject, new Uint8Array([1]), { msgID: 'w1-0', expect: { lastSubjectSequence: 0 } });
    const retry = await js.publish(subject, new Uint8Array([1]), { msgID: 'w1-0', expect: { lastSubjectSequence: 0 } });
    assert.equal(retry.duplicate, true);
    assert.equal(retry.seq, first.seq);
  } finally {
    await nc.close();
  }
});

test('nats-server 2.9 facts the runtime relies on: expected sequence 0 means "no message on the subject", also after a purge', async () => {
  const { nc, js, jsm, stream, subject } = await setup();
  try {
    const a = await js.publish(subject, new Uint8Array([1]), { expect: { lastSubjectSequence: 0 } });
    await assert.rejects(js.publish(subject, new Uint8Array([2]), { expect: { lastSubjectSequence: 0 } }), /wrong last sequence/);
    await jsm.streams.purge(stream, { filter: subject });
    // After a full purge the subject counts as empty again: a writer expecting 0 succeeds, one
    // expecting the old sequence is rejected. So the runtime never re-creates a purged id
    // (the index keeps it taken) and continue-as-new purges *below* its own message instead.
    await assert.rejects(js.publish(subject, new Uint8Array([3]), { expect: { lastSubjectSequence: a.seq } }), /wrong last sequence/);
    const again = await js.publish(subject, new Uint8Array([4]), { expect: { lastSubjectSequence: 0 } });
    assert.ok(again.seq > a.seq);
    // A purge below a sequence keeps that message, so the subject's last sequence (the fence) stays.
    const b = await js.publish(subject, new Uint8Array([5]), { expect: { lastSubjectSequence: again.seq } });
    await jsm.streams.purge(stream, { filter: subject, seq: b.seq });
    const left = await readSubject(js, jsm, stream, subject);
    assert.deepEqual(
      left.map((m) => m.seq),
      [b.seq],
    );
    await js.publish(subject, new Uint8Array([6]), { expect: { lastSubjectSequence: b.seq } });
  } finally {
    await nc.close();
  }
});

test('an event recorded as starting a message begins a new message even when recorded in the same turn', async () => {
  const { nc, js, jsm, stream, subject } = await setup();
  try {
    const w = writer(js, subject, 0, 'A');
    for (let i = 1; i <= 3; i++) w.push({ type: 'Now', seq: i, t: i });
    w.push({ type: 'Now', seq: 4, t: 4 }, undefined, { startsMessage: true });
    w.push({ type: 'Now', seq: 5, t: 5 });
    await w.sync();
    const messages = (await readSubject(js, jsm, stream, subject)).map((m) => decodeBatch(m.data).map((e) => (e as { seq: number }).seq));
    assert.deepEqual(messages, [
      [1, 2, 3],
      [4, 5],
    ]);
  } finally {
    await nc.close();
  }
});
