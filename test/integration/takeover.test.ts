// Ownership: graceful handover, takeover after a lease lapses, two hosts forced to own one
// instance (the stale one is fenced), and a host running changed code (non-determinism).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DeliverPolicy } from '@nats-io/jetstream';
import { InProcessDispatcher, type ActorHost, type OrchestrationContext, type OrchestrationRegistry } from '../../src/actors/index.ts';
import { decodeBatch } from '../../src/actors/codec.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { ActorEnv, delay, waitFor } from '../support/actors.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.dispose();
});

async function withEnv(fn: (env: ActorEnv) => Promise<void>): Promise<void> {
  const env = new ActorEnv(server.url);
  try {
    await fn(env);
  } finally {
    await env.close();
  }
}

const chain = {
  chain: async (ctx: OrchestrationContext, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await ctx.call<number>('step', i));
    return out;
  },
} as unknown as OrchestrationRegistry;

function countingDispatcher(runs: Map<number, number>, ms: number) {
  return new InProcessDispatcher({
    step: (async (i: number) => {
      runs.set(i, (runs.get(i) ?? 0) + 1);
      await delay(ms);
      return i;
    }) as never,
  });
}

/** Every history message with the msg id it was written with (the writer id is its prefix). */
async function messagesWithWriters(host: ActorHost, id: string): Promise<Array<{ seq: number; writer: string; types: string[] }>> {
  const { js, jsm, names } = host.storage;
  const last = await jsm.streams.getMessage(names.stream, { last_by_subj: names.historySubject(id) });
  const c = await js.consumers.get(names.stream, { filter_subjects: names.historySubject(id), deliver_policy: DeliverPolicy.All });
  const out: Array<{ seq: number; writer: string; types: string[] }> = [];
  const it = await c.consume();
  for await (const m of it) {
    out.push({ seq: m.seq, writer: m.headers?.get('Nats-Msg-Id') ?? '', types: decodeBatch(m.data).map((e) => e.type) });
    if (m.seq >= last!.seq) break;
  }
  void it.close();
  await c.delete();
  return out;
}

test('graceful stop hands instances over at once: results in flight are recorded, nothing runs twice', async () => {
  await withEnv(async (env) => {
    const runs = new Map<number, number>();
    const a = await env.host({ hostId: 'A', orchestrations: chain, dispatcher: countingDispatcher(runs, 60), leaseTtlMs: 5_000 });
    const b = await env.host({ hostId: 'B', orchestrations: chain, dispatcher: countingDispatcher(runs, 60), leaseTtlMs: 5_000, claim: true });
    const { id } = await a.startInstance('chain', 12);
    await waitFor('a few steps', () => runs.size >= 4 || undefined);
    const activatedOnB = new Promise<number>((resolve) => b.on('activated', (x) => x === id && resolve(Date.now())));
    const stoppedAt = Date.now();
    await a.stop({ drainMs: 1_000 });
    const takenAt = await activatedOnB;
    assert.ok(takenAt - stoppedAt < 2_000, `taken over ${takenAt - stoppedAt} ms after the stop (lease TTL 5000 ms)`);
    const st = await b.client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.deepEqual(
      st.output,
      Array.from({ length: 12 }, (_, i) => i),
    );
    assert.deepEqual([...runs.values()], Array(12).fill(1), `each step ran once: ${JSON.stringify([...runs])}`);
  });
});

test('when a host dies its leases lapse and another host finishes its instances; recorded steps do not run again', async () => {
  await withEnv(async (env) => {
    const runs = new Map<number, number>();
    const a = await env.host({ hostId: 'A', orchestrations: chain, dispatcher: countingDispatcher(runs, 30), leaseTtlMs: 600 });
    const { id } = await a.startInstance('chain', 20);
    await waitFor('a few steps', () => runs.size >= 5 || undefined);
    a.halt(); // as a crash: nothing released, nothing flushed
    const recorded = new Set(
      (await a.client.history(id, { limit: 10_000 })).events.filter((e) => e.event.type === 'ActivityCompleted').map((e) => e.value as number),
    );
    const inFlight = runs.size - recorded.size;
    const b = await env.host({ hostId: 'B', orchestrations: chain, dispatcher: countingDispatcher(runs, 30), leaseTtlMs: 600 });
    const st = await b.client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(st.status, 'COMPLETED');
    for (const i of recorded) assert.equal(runs.get(i), 1, `recorded step ${i} ran once`);
    const again = [...runs].filter(([, n]) => n > 1).map(([i]) => i);
    assert.ok(again.length <= inFlight, `re-run ${again.join(',')} but only ${inFlight} were in flight`);
    for (const i of again) assert.ok(!recorded.has(i));
  });
});

test('two hosts forced to own one instance: the stale owner gets no append accepted and deactivates', async () => {
  await withEnv(async (env) => {
    const orchestrations = {
      pingpong: async (ctx: OrchestrationContext) => {
        const a = await ctx.waitForEvent<number>('go');
        const b = await ctx.call<number>('work', a);
        const c = await ctx.waitForEvent<number>('go');
        return a + b + c;
      },
    } as unknown as OrchestrationRegistry;
    const work = (x: number) => x * 10;
    // A's heartbeat is slow, so it cannot notice the lost lease before it tries to append.
    const a = await env.host({ hostId: 'A', orchestrations, dispatcher: new InProcessDispatcher({ work: work as never }), leaseTtlMs: 60_000, heartbeatMs: 60_000, claim: false });
    const b = await env.host({ hostId: 'B', orchestrations, dispatcher: new InProcessDispatcher({ work: work as never }), leaseTtlMs: 60_000, claim: false });
    const fenced: string[] = [];
    a.on('fenced', (id) => fenced.push(id));
    const { id } = await a.startInstance('pingpong', undefined);
    await waitFor('A to run it', () => a.instance(id)?.state === 'running' || undefined);
    assert.equal(await b.seize(id), true);
    // Both hosts now believe they own it and both receive the event.
    await b.client.raiseEvent(id, 'go', 1);
    await waitFor('A to be fenced', () => fenced.includes(id) || undefined);
    assert.equal(a.instance(id), undefined, 'A deactivated the instance');
    await b.client.raiseEvent(id, 'go', 2);
    const st = await b.client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.equal(st.output, 1 + 10 + 2);
    const messages = await messagesWithWriters(b, id);
    const bFirst = messages.findIndex((m) => m.writer.startsWith('B.'));
    assert.ok(bFirst > 0);
    assert.deepEqual(messages[bFirst].types, ['Activated']);
    const staleAfter = messages.slice(bFirst).filter((m) => m.writer.startsWith('A.'));
    assert.deepEqual(staleAfter, [], 'no message from A after B took over');
    const events = messages.flatMap((m) => m.types);
    assert.equal(events.filter((t) => t === 'EventRaised').length, 2, 'each event recorded once');
  });
});

test('a host with changed orchestration code fails the instance with NON_DETERMINISM naming the step', async () => {
  await withEnv(async (env) => {
    const v1 = {
      job: async (ctx: OrchestrationContext) => {
        await ctx.call('prepare');
        await ctx.call('tile');
        await ctx.waitForEvent('go');
        return ctx.call('compose');
      },
    } as unknown as OrchestrationRegistry;
    const v2 = {
      job: async (ctx: OrchestrationContext) => {
        await ctx.call('prepare');
        await ctx.call('tile-v2');
        await ctx.waitForEvent('go');
        return ctx.call('compose');
      },
    } as unknown as OrchestrationRegistry;
    const activities = { prepare: () => 1, tile: () => 2, 'tile-v2': () => 2, compose: () => 3 };
    const old = await env.host({ hostId: 'old', orchestrations: v1, dispatcher: new InProcessDispatcher(activities), claim: false });
    const { id } = await old.startInstance('job', undefined);
    await waitFor('step 2 to be recorded', async () => (await old.client.history(id)).events.filter((e) => e.event.type === 'ActivityCompleted').length === 2);
    await old.stop();
    const changed = await env.host({ hostId: 'new', orchestrations: v2, dispatcher: new InProcessDispatcher(activities) });
    const st = await changed.client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.equal(st.status, 'FAILED');
    assert.equal(st.error?.code, 'NON_DETERMINISM');
    assert.equal(st.error?.details?.seq, 2);
    assert.match(st.error!.message, /step 2: the history has activity 'tile', but the code now schedules activity 'tile-v2'/);
  });
});
