// The client API against a real nats-server: idempotent start, status, list (tenant, status,
// paging), history pages, watch (from the start, the latest state, live), purge and retention.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessDispatcher, sweepRetention, type OrchestrationContext, type OrchestrationRegistry, type RecordedEvent } from '../../src/actors/index.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { ActorEnv, waitFor } from '../support/actors.ts';

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

const orchestrations = {
  steps: async (ctx: OrchestrationContext, n: number) => {
    for (let i = 0; i < n; i++) {
      await ctx.call('noop');
      ctx.setStatus({ progress: (i + 1) / n, step: i + 1 });
    }
    return 'done';
  },
  waiter: async (ctx: OrchestrationContext) => {
    ctx.setStatus({ phase: 'waiting' });
    const v = await ctx.waitForEvent<number>('go');
    await ctx.callSub('steps', 2);
    ctx.setStatus({ phase: 'done' });
    return v;
  },
} as unknown as OrchestrationRegistry;

test('start with a caller-given id is idempotent: one history, one index entry', async () => {
  await withEnv(async (env) => {
    const client = await env.client();
    const results = await Promise.all(Array.from({ length: 5 }, () => client.start('steps', 1, { id: 'same-id', tenant: 't1' })));
    assert.equal(results.filter((r) => r.created).length, 1);
    const host = await env.host({ orchestrations, dispatcher: new InProcessDispatcher({ noop: () => undefined }) });
    const st = await host.client.waitForCompletion('same-id', { timeoutMs: 5_000 });
    assert.equal(st.status, 'COMPLETED');
    const starts = (await client.history('same-id')).events.filter((e) => e.event.type === 'Started');
    assert.equal(starts.length, 1);
    assert.equal((await client.start('steps', 1, { id: 'same-id' })).created, false, 'still taken after it finished');
    await assert.rejects(client.start('steps', 1, { id: 'bad id!' }), (e: Error & { code?: string }) => e.code === 'INVALID_ID' && /A-Z, a-z, 0-9/.test(e.message));
  });
});

test('a host started after the client picks up pending instances; status carries summary fields, stats, output', async () => {
  await withEnv(async (env) => {
    const client = await env.client();
    const { id } = await client.start('steps', 3, { tenant: 'acme', summary: { label: 'first' } });
    assert.equal((await client.status(id))?.status, 'PENDING');
    await env.host({ orchestrations, dispatcher: new InProcessDispatcher({ noop: () => undefined }) });
    const st = await client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.equal(st.status, 'COMPLETED');
    assert.equal(st.output, 'done');
    assert.equal(st.tenant, 'acme');
    assert.deepEqual(st.summary, { label: 'first', progress: 1, step: 3 });
    assert.ok(st.completedAt! >= st.createdAt);
    assert.ok(st.stats!.events >= 3 + 3 + 2, JSON.stringify(st.stats));
    assert.equal(await client.status('nope'), undefined);
  });
});

test('list filters by tenant and status, pages with a cursor, and hides children unless asked', async () => {
  await withEnv(async (env) => {
    const host = await env.host({ orchestrations, dispatcher: new InProcessDispatcher({ noop: () => undefined }) });
    const client = host.client;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await host.startInstance('waiter', undefined, { id: `w${i}`, tenant: i % 2 ? 'odd' : 'even' })).id);
    await client.raiseEvent('w0', 'go', 0);
    await client.waitForCompletion('w0', { timeoutMs: 5_000 });
    const even = await client.list({ tenant: 'even' });
    assert.deepEqual(even.items.map((s) => s.id).sort(), ['w0', 'w2', 'w4', 'w6']);
    const running = await client.list({ status: 'RUNNING' });
    assert.deepEqual(running.items.map((s) => s.id).sort(), ['w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.list({ limit: 3, cursor });
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual([...seen].sort(), ids.sort(), 'every root instance once across pages');
    const withChildren = await client.list({ includeChildren: true, orchestration: 'steps' });
    assert.equal(withChildren.items.length, 1);
    assert.equal(withChildren.items[0].parentId, 'w0');
    assert.equal(running.items.find((s) => s.id === 'w3')?.summary.phase, 'waiting');
    await assert.rejects(client.list({ cursor: 'garbage' }), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT');
  });
});

test('history pages cover every event once, in order', async () => {
  await withEnv(async (env) => {
    const host = await env.host({ orchestrations, dispatcher: new InProcessDispatcher({ noop: () => undefined }) });
    const { id } = await host.startInstance('steps', 40);
    await host.client.waitForCompletion(id, { timeoutMs: 5_000 });
    const all = (await host.client.history(id, { limit: 100_000 })).events;
    const paged: RecordedEvent[] = [];
    let fromSeq: number | undefined = 1;
    let pages = 0;
    while (fromSeq !== undefined) {
      // limit 1: one stored message per page (group commit packs many events into one)
      const page = await host.client.history(id, { fromSeq, limit: 1 });
      paged.push(...page.events);
      fromSeq = page.nextSeq;
      pages++;
    }
    const messages = new Set(all.map((e) => e.seq)).size;
    assert.ok(messages > 1);
    assert.equal(pages, messages);
    assert.deepEqual(
      paged.map((e) => `${e.seq}/${e.index}`),
      all.map((e) => `${e.seq}/${e.index}`),
    );
    const statuses = all.filter((e) => e.event.type === 'StatusSet').map((e) => (e.value as { step: number }).step);
    assert.deepEqual(
      statuses,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });
});

test('watch: a live watcher sees every event as it is stored; a late one reads from the start or from the latest state', async () => {
  await withEnv(async (env) => {
    const host = await env.host({ orchestrations, dispatcher: new InProcessDispatcher({ noop: () => undefined }) });
    const client = await env.client();
    const { id } = await host.startInstance('waiter', undefined);
    await waitFor('the instance to wait', async () => (await client.status(id))?.summary.phase === 'waiting');
    const live: string[] = [];
    const watching = (async () => {
      for await (const e of client.watch(id, { from: 'new' })) live.push(e.event.type);
    })();
    await new Promise((r) => setTimeout(r, 100));
    await client.raiseEvent(id, 'go', 42);
    await watching; // ends by itself after the terminal event
    assert.deepEqual(
      live.filter((t) => t !== 'Activated'),
      ['EventRaised', 'SubStarted', 'SubCompleted', 'StatusSet', 'Completed'],
    );
    const fromStart: RecordedEvent[] = [];
    for await (const e of client.watch(id, { from: 'start' })) fromStart.push(e);
    assert.equal(fromStart[0].event.type, 'Started');
    assert.equal(fromStart.at(-1)!.event.type, 'Completed');
    assert.equal(fromStart.find((e) => e.event.type === 'EventRaised')?.value, 42);
    const latest: string[] = [];
    for await (const e of client.watch(id, { from: 'latest' })) latest.push(e.event.type);
    assert.equal(latest.at(-1), 'Completed');
    assert.ok(latest.length < fromStart.length);
    // an aborted watch ends its iteration
    const ac = new AbortController();
    const { id: other } = await host.startInstance('waiter', undefined);
    const it = (async () => {
      let n = 0;
      for await (const _e of client.watch(other, { from: 'start', signal: ac.signal })) n++;
      return n;
    })();
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    assert.ok((await it) >= 1);
  });
});

test('purge removes a finished instance and its children from the stream; the index keeps a purged summary; retention sweeps', async () => {
  await withEnv(async (env) => {
    const host = await env.host({ orchestrations, dispatcher: new InProcessDispatcher({ noop: () => undefined }) });
    const client = host.client;
    const { id } = await host.startInstance('waiter', undefined);
    await assert.rejects(client.purge(id), (e: Error & { code?: string }) => e.code === 'INSTANCE_NOT_TERMINAL');
    await client.raiseEvent(id, 'go', 1);
    await client.waitForCompletion(id, { timeoutMs: 5_000 });
    const child = (await client.list({ includeChildren: true, orchestration: 'steps' })).items[0];
    await waitFor('the child to be finished in the index', async () => (await client.status(child.id))?.status === 'COMPLETED');
    const { purged } = await client.purge(id);
    assert.deepEqual(purged.sort(), [child.id, id].sort());
    assert.equal((await client.history(id)).events.length, 0);
    assert.equal((await client.history(child.id)).events.length, 0);
    const st = await client.status(id);
    assert.equal(st?.status, 'COMPLETED');
    assert.equal(st?.purged, true);
    assert.equal(st?.output, 1, 'the summary keeps the result');
    const subjects = (await client.storage.jsm.streams.info(client.names.stream, { subjects_filter: `${client.names.namespace}.>` })).state.subjects ?? {};
    assert.ok(!Object.keys(subjects).some((s) => s.includes(id)), `no subject of the purged instance remains: ${Object.keys(subjects).join(', ')}`);

    const { id: second } = await host.startInstance('steps', 1);
    await client.waitForCompletion(second, { timeoutMs: 5_000 });
    assert.deepEqual(await sweepRetention(client, 60_000), [], 'nothing old enough');
    assert.deepEqual(await sweepRetention(client, 0, Date.now() + 1), [second]);
    assert.equal((await client.status(second))?.purged, true);
  });
});
