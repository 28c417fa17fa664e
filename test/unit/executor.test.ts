// The executor without NATS: a live run is recorded in memory, then replayed from that record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext } from '../../src/actors/context.ts';
import type { DeliveryEvent, HistoryEvent } from '../../src/actors/events.ts';
import type { Delivery } from '../../src/actors/executor.ts';
import { planReplay, replayTurns } from '../../src/actors/replay.ts';
import { loadInline } from '../../src/actors/values.ts';
import { completeDispatched, newExecutor, settle, type MemoryRun } from '../support/memory-sink.ts';

type Fn = (ctx: OrchestrationContext, input: never) => Promise<unknown>;
const decode = (e: DeliveryEvent): Delivery => ({ event: e, value: loadInline(e as { v?: Uint8Array }) });

async function replay(fn: Fn, history: HistoryEvent[], input: unknown): Promise<MemoryRun> {
  const { plan, turns } = planReplay(history);
  const run = newExecutor(fn, input, { plan });
  await replayTurns(run.executor, turns, decode);
  run.executor.endReplay();
  await settle();
  return run;
}

const workflow: Fn = async (ctx, x: number) => {
  const a = await ctx.call<number>('double', x);
  const [b, c] = await Promise.all([ctx.call<number>('double', a), ctx.call<number>('inc', a)]);
  await ctx.sleep(10);
  const t = ctx.now();
  const g = await ctx.waitForEvent<string>('go');
  return { a, b, c, g, t, r: ctx.random(), id: ctx.uuid() };
};

const results = (name: string, input: unknown) => (name === 'double' ? (input as number) * 2 : (input as number) + 1);

async function runLive(): Promise<MemoryRun> {
  const run = newExecutor(workflow, 5);
  run.executor.start();
  await settle();
  await completeDispatched(run, results); // double(5)
  await completeDispatched(run, results); // double(10), inc(10) in one turn
  const [timerSeq] = [...run.sink.timers.keys()];
  run.executor.runTurn([{ event: { type: 'TimerFired', seq: timerSeq } }]);
  await settle();
  run.executor.runTurn([{ event: { type: 'EventRaised', eid: 'e1', name: 'go' }, value: 'yes' }]);
  await settle();
  return run;
}

test('a live run is recorded and a replay of the record reaches the same result without re-running a step', async () => {
  const live = await runLive();
  assert.equal(live.sink.outcome?.kind, 'completed');
  const output = (live.sink.outcome as { output: Record<string, unknown> }).output;
  assert.equal(output.a, 10);
  assert.equal(output.b, 20);
  assert.equal(output.c, 11);
  assert.equal(output.g, 'yes');
  assert.equal(output.t, 1000 + 0); // the recorded clock value
  // start + 4 turns that delivered something
  assert.equal(live.executor.turnsRun, 5);

  const again = await replay(workflow, live.sink.history, 5);
  assert.equal(again.sink.fatalError, undefined);
  assert.deepEqual(again.sink.dispatched, [], 'no recorded activity is dispatched again');
  assert.deepEqual(again.sink.history, [], 'replay records nothing new');
  assert.equal(again.sink.outcome?.kind, 'completed');
  assert.deepEqual((again.sink.outcome as { output: unknown }).output, output, 'same values, including ctx.now/random/uuid');
});

test('a replay of a partial history re-arms the recorded timer at its recorded time and dispatches nothing done', async () => {
  const live = await runLive();
  const cut = live.sink.history.findIndex((e) => e.type === 'TimerFired');
  const partial = live.sink.history.slice(0, cut);
  const timer = partial.find((e) => e.type === 'TimerCreated') as { seq: number; fireAt: number };
  const again = await replay(workflow, partial, 5);
  assert.equal(again.sink.fatalError, undefined);
  assert.deepEqual(again.sink.dispatched, []);
  assert.equal(again.sink.timers.get(timer.seq), timer.fireAt);
  assert.equal(again.sink.outcome, undefined);
});

test('a step in flight when the record ends is dispatched again after replay', async () => {
  const live = await runLive();
  const cut = live.sink.history.findIndex((e) => e.type === 'ActivityCompleted' && e.name === 'inc');
  // the record lost the second turn: both calls of the fan-out are in flight again
  const partial = live.sink.history.slice(0, cut - 1);
  const again = await replay(workflow, partial, 5);
  assert.deepEqual(
    again.sink.dispatched.map((d) => [d.name, d.input]),
    [
      ['double', 10],
      ['inc', 10],
    ],
  );
});

test('changed code fails the replay with NON_DETERMINISM naming the step, expected and got', async () => {
  const live = await runLive();
  const changed: Fn = async (ctx, x: number) => {
    const a = await ctx.call<number>('double', x);
    await Promise.all([ctx.call('triple', a), ctx.call('inc', a)]);
    return a;
  };
  const again = await replay(changed, live.sink.history, 5);
  const err = again.sink.fatalError;
  assert.ok(err);
  assert.equal(err.code, 'NON_DETERMINISM');
  assert.equal(err.details?.seq, 2);
  assert.match(err.message, /step 2/);
  assert.match(err.message, /activity 'double'/);
  assert.match(err.message, /activity 'triple'/);
});

test('code that stops short of its recorded history is a divergence too', async () => {
  const live = await runLive();
  const shorter: Fn = async (ctx, x: number) => ctx.call<number>('double', x);
  const again = await replay(shorter, live.sink.history, 5);
  assert.equal(again.sink.fatalError?.code, 'NON_DETERMINISM');
});

test('interleaved async helpers replay with the same step numbers when a turn delivers several results', async () => {
  const helper = async (ctx: OrchestrationContext, tag: string) => {
    const a = await ctx.call<string>('id', `${tag}1`);
    await Promise.resolve();
    const b = await ctx.call<string>('id', `${tag}2`);
    return a + b;
  };
  const fn: Fn = async (ctx) => (await Promise.all([helper(ctx, 'x'), helper(ctx, 'y'), ctx.call<string>('id', 'z')])).join(',');
  const live = newExecutor(fn, undefined);
  live.executor.start();
  await settle();
  while (await completeDispatched(live, (_n, i) => i)) {
    /* all results of a round in one turn */
  }
  assert.equal(live.sink.outcome?.kind, 'completed');
  const again = await replay(fn, live.sink.history, undefined);
  assert.equal(again.sink.fatalError, undefined);
  assert.deepEqual(again.sink.outcome, live.sink.outcome);
});

test('events raised before the wait are buffered; a wait with a timeout rejects with WAIT_TIMEOUT', async () => {
  const fn: Fn = async (ctx) => {
    const first = await ctx.waitForEvent('a');
    let timedOut = '';
    try {
      await ctx.waitForEvent('never', { timeoutMs: 50 });
    } catch (err) {
      timedOut = (err as { code: string }).code;
    }
    return { first, timedOut, second: await ctx.waitForEvent('a') };
  };
  const run = newExecutor(fn, undefined);
  run.executor.start();
  await settle();
  run.executor.runTurn([
    { event: { type: 'EventRaised', eid: '1', name: 'a' }, value: 1 },
    { event: { type: 'EventRaised', eid: '2', name: 'a' }, value: 2 },
  ]);
  await settle();
  const [seq] = [...run.sink.timers.keys()];
  assert.equal(run.sink.timers.get(seq), 1000 + 50);
  run.executor.runTurn([{ event: { type: 'TimerFired', seq } }]);
  await settle();
  assert.deepEqual((run.sink.outcome as { output: unknown }).output, { first: 1, timedOut: 'WAIT_TIMEOUT', second: 2 });
  const again = await replay(fn, run.sink.history, undefined);
  assert.deepEqual(again.sink.outcome, run.sink.outcome);
});

test('cancel rejects pending steps with CANCELED; results for them afterwards are dropped unrecorded', async () => {
  const fn: Fn = async (ctx) => {
    await Promise.all([ctx.call('slow'), ctx.sleep(1000)]);
  };
  const run = newExecutor(fn, undefined);
  run.executor.start();
  await settle();
  const [{ seq }] = run.sink.dispatched;
  run.executor.runTurn([{ event: { type: 'CancelRequested', eid: 'c', reason: 'user' } }]);
  await settle();
  assert.equal(run.sink.outcome?.kind, 'canceled');
  const before = run.sink.history.length;
  run.executor.runTurn([{ event: { type: 'ActivityCompleted', seq, name: 'slow' }, value: 1 }]);
  assert.equal(run.sink.history.length, before);
});

test('while suspended, deliveries are recorded as held and reach the code on resume', async () => {
  const fn: Fn = async (ctx) => ctx.call('work');
  const run = newExecutor(fn, undefined);
  run.executor.start();
  await settle();
  const [{ seq }] = run.sink.dispatched;
  run.executor.runTurn([{ event: { type: 'Suspended', eid: 's', reason: 'pause' } }]);
  run.executor.runTurn([{ event: { type: 'ActivityCompleted', seq, name: 'work' }, value: 'done' }]);
  await settle();
  assert.equal(run.sink.outcome, undefined);
  assert.equal((run.sink.history.find((e) => e.type === 'ActivityCompleted') as { held?: boolean }).held, true);
  run.executor.runTurn([{ event: { type: 'Resumed', eid: 'r' } }]);
  await settle();
  assert.deepEqual(run.sink.outcome, { kind: 'completed', output: 'done' });
  const again = await replay(fn, run.sink.history, undefined);
  assert.deepEqual(again.sink.outcome, run.sink.outcome);
});

test('results recorded unapplied at a graceful handover replay as one turn', async () => {
  const fn: Fn = async (ctx) => {
    const ev = ctx.waitForEvent('e', { timeoutMs: 10 });
    const [a, b] = await Promise.all([ctx.call<number>('one'), ctx.call<number>('two')]);
    return { a, b, e: await ev };
  };
  const run = newExecutor(fn, undefined);
  run.executor.start();
  await settle();
  const timerSeq = [...run.sink.timers.keys()][0];
  const deliveries: Delivery[] = [
    ...run.sink.dispatched.map((d, i) => ({ event: { type: 'ActivityCompleted', seq: d.seq, name: d.name } as DeliveryEvent, value: i + 1 })),
    { event: { type: 'EventRaised', eid: 'x', name: 'e' }, value: 'early' },
    // the event met the wait: the timeout's firing must not be recorded after it
    { event: { type: 'TimerFired', seq: timerSeq } },
  ];
  assert.equal(run.executor.recordWithoutApplying(deliveries), 3);
  const again = await replay(fn, run.sink.history, undefined);
  assert.equal(again.sink.fatalError, undefined);
  assert.deepEqual(again.sink.outcome, { kind: 'completed', output: { a: 1, b: 2, e: 'early' } });
});
