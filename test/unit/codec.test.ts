import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { decodeBatch, decodeInbox, encodeEvent, encodeInbox, FORMAT_VERSION, joinBatch } from '../../src/actors/codec.ts';
import type { HistoryEvent } from '../../src/actors/events.ts';

test('a batch of separately encoded events decodes to the same events in order', () => {
  const events: HistoryEvent[] = [
    { type: 'Started', orchestration: 'x', generation: 0, seed: 7, at: 1, v: new Uint8Array([1, 2, 3]) },
    { type: 'ActivityCompleted', seq: 1, name: 'a', turn: 1, v: new Uint8Array([0xc0]) },
    { type: 'Now', seq: 2, t: 12345 },
  ];
  const decoded = decodeBatch(joinBatch(events.map(encodeEvent)));
  assert.equal(decoded.length, 3);
  assert.deepEqual(
    decoded.map((e) => e.type),
    ['Started', 'ActivityCompleted', 'Now'],
  );
  assert.deepEqual([...(decoded[0] as { v: Uint8Array }).v], [1, 2, 3]);
  assert.equal((decoded[2] as { t: number }).t, 12345);
});

test('a history message of an unknown format version is refused with CODEC_VERSION', () => {
  const p = new Packr({ useRecords: false });
  const future = Buffer.concat([p.pack({ v: FORMAT_VERSION + 1 }), p.pack({ type: 'Now', seq: 1, t: 1 })]);
  assert.throws(() => decodeBatch(future), (e: Error & { code?: string }) => e.code === 'CODEC_VERSION' && /format version 2/.test(e.message));
});

test('inbox messages round-trip and a message without an event id is refused', () => {
  const m = decodeInbox(encodeInbox({ kind: 'event', eid: 'e1', name: 'go', v: new Uint8Array([0xa1, 0x78]) }));
  assert.equal(m.kind, 'event');
  assert.equal(m.eid, 'e1');
  const p = new Packr({ useRecords: false });
  assert.throws(() => decodeInbox(Buffer.concat([p.pack({ v: FORMAT_VERSION }), p.pack({ kind: 'event' })])), /event id/);
});
