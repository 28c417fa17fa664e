// The fault suite's history audit finds what it claims to find: a batch missing from a writer's
// sequence, a batch or a step stored twice, a status rev skipped, and a write by an owner after a
// newer one had written (fencing broken); a clean history passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeValue } from '../../src/actors/codec.ts';
import type { HistoryEvent } from '../../src/actors/events.ts';
import { auditJournal, recoveryAfter, type JournalMessage } from '../support/job-audit.ts';

const status = (seq: number, rev: number): HistoryEvent => ({ type: 'StatusSet', seq, v: encodeValue({ rev }) });
const done = (seq: number): HistoryEvent => ({ type: 'ActivityCompleted', seq, name: 'kernel.step', turn: seq, v: encodeValue(null) });

function msg(streamSeq: number, writer: string, batch: number, events: HistoryEvent[]): JournalMessage {
  return { streamSeq, time: streamSeq * 10, msgId: writer === 'start' ? `start-j-x` : `${writer}-${batch}`, writer, batch, events };
}

function clean(): JournalMessage[] {
  return [
    msg(1, 'start', 0, [{ type: 'Started', orchestration: 'inpaint', generation: 0, seed: 1, at: 0 }]),
    msg(2, 'hA.u1', 0, [{ type: 'Activated', host: 'hA', at: 1 }, status(1, 1)]),
    msg(3, 'hA.u1', 1, [done(2), status(3, 2)]),
    msg(5, 'hB.u2', 0, [{ type: 'Activated', host: 'hB', at: 2 }]),
    msg(6, 'hB.u2', 1, [done(4), status(5, 3), { type: 'Completed', at: 3 }]),
  ];
}

test('a clean history with a takeover has nothing lost, doubled or stale', () => {
  const a = auditJournal('j', clean());
  assert.deepEqual([a.lost, a.doubled, a.staleWrites, a.problems], [0, 0, 0, []]);
  assert.deepEqual(
    a.activations.map((x) => x.host),
    ['hA', 'hB'],
  );
  assert.equal(a.kernelCompleted, 2);
  assert.equal(a.terminal, 'Completed');
});

test('a stale owner writing after the new owner is counted', () => {
  const m = clean();
  m.splice(4, 0, msg(5.5, 'hA.u1', 2, [done(9)]));
  const a = auditJournal('j', m);
  assert.equal(a.staleWrites, 1);
});

test('a missing batch and a skipped status rev count as lost', () => {
  const m = clean();
  m[2] = msg(3, 'hA.u1', 2, [done(2), status(3, 2)]);
  assert.equal(auditJournal('j', m).lost, 1);
  const n = clean();
  n[4] = msg(6, 'hB.u2', 1, [done(4), status(5, 4), { type: 'Completed', at: 3 }]);
  assert.equal(auditJournal('j', n).lost, 1);
});

test('a step settled twice, a batch stored twice and a second terminal event count as doubled', () => {
  const m = clean();
  m[4] = msg(6, 'hB.u2', 1, [done(2), status(5, 3), { type: 'Completed', at: 3 }]);
  assert.equal(auditJournal('j', m).doubled, 1);
  const n = clean();
  n.splice(4, 0, msg(5.5, 'hB.u2', 0, [{ type: 'Activated', host: 'hB', at: 2 }]));
  assert.ok(auditJournal('j', n).doubled >= 1);
  const o = clean();
  o[4].events.push({ type: 'Completed', at: 4 });
  assert.equal(auditJournal('j', o).doubled, 1);
});

test('recovery: time from a fault to the next progress of a job running across it', () => {
  assert.equal(recoveryAfter([100, 200, 900], [250]), 650);
  assert.equal(recoveryAfter([100, 200], [250]), undefined, 'finished before the fault');
  assert.equal(recoveryAfter([100, 200, 900, 1000], [150, 250]), 650);
});
