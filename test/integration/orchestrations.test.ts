// Orchestrations end to end against a real nats-server: chains, fan-out/fan-in, timers,
// external events, sub-orchestrations, continue-as-new, cancel/terminate/suspend, large values,
// retries and failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CanceledError,
  InProcessDispatcher,
  RetryableError,
  TerminalError,
  type ActivityFailedError,
  type SubOrchestrationFailedError,
  type ActivityRequest,
  type OrchestrationContext,
  type OrchestrationRegistry,
} from '../../src/actors/index.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { ActorEnv, delay, waitFor } from '../support/actors.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.dispose();
});

type Ctx = OrchestrationContext;
const registry = (r: Record<string, (ctx: Ctx, input: never) => Promise<unknown>>) => r as OrchestrationRegistry;

async function withEnv(fn: (env: ActorEnv) => Promise<void>): Promise<void> {
  const env = new ActorEnv(server.url);
  try {
    await fn(env);
  } finally {
    await env.close();
  }
}

test('a chain of activities runs in order, each once, and its result is the status output', async () => {
  await withEnv(async (env) => {
    const runs: number[] = [];
    const host = await env.host({
      orchestrations: registry({
        chain: async (ctx, n: number) => {
          let acc = 0;
          for (let i = 0; i < n; i++) acc = await ctx.call<number>('add', { acc, i });
          return acc;
        },
      }),
      dispatcher: new InProcessDispatcher({
        add: ((x: { acc: number; i: number }) => {
          runs.push(x.i);
          return x.acc + x.i;
        }) as never,
      }),
    });
    const { id, created } = await host.startInstance('chain', 50, { id: 'chain-1' });
    assert.equal(created, true);
    const st = await host.client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(st.status, 'COMPLETED');
    assert.equal(st.output, (49 * 50) / 2);
    assert.deepEqual(
      runs,
      Array.from({ length: 50 }, (_, i) => i),
    );
    const events = (await host.client.history(id, { limit: 10_000 })).events.map((e) => e.event.type);
    assert.equal(events.filter((t) => t === 'ActivityCompleted').length, 50);
    assert.equal(events[0], 'Started');
    assert.equal(events.at(-1), 'Completed');
    assert.ok(st.stats && st.stats.appends < st.stats.events, `group commit: ${JSON.stringify(st.stats)}`);
  });
});

test('fan-out/fan-in: 300 parallel activities each run once and their results join in order', async () => {
  await withEnv(async (env) => {
    const count = new Map<number, number>();
    const host = await env.host({
      orchestrations: registry({
        fan: async (ctx, n: number) => {
          const parts = await Promise.all(Array.from({ length: n }, (_, i) => ctx.call<number>('square', i)));
          return parts.reduce((a, b) => a + b, 0);
        },
      }),
      dispatcher: new InProcessDispatcher({
        square: (async (i: number) => {
          count.set(i, (count.get(i) ?? 0) + 1);
          await delay(i % 7);
          return i * i;
        }) as never,
      }),
    });
    const { id } = await host.startInstance('fan', 300);
    const st = await host.client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(st.output, Array.from({ length: 300 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
    assert.equal(count.size, 300);
    assert.ok([...count.values()].every((c) => c === 1));
  });
});

test('a durable timer fires no earlier than its recorded time', async () => {
  await withEnv(async (env) => {
    const host = await env.host({
      orchestrations: registry({
        nap: async (ctx, ms: number) => {
          const t0 = ctx.now();
          await ctx.sleep(ms);
          return ctx.now() - t0;
        },
      }),
      dispatcher: new InProcessDispatcher({}),
    });
    const { id } = await host.startInstance('nap', 300);
    const st = await host.client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.ok((st.output as number) >= 300, String(st.output));
    const events = (await host.client.history(id)).events.map((e) => e.event);
    const created = events.find((e) => e.type === 'TimerCreated') as { fireAt: number };
    const fired = (await host.client.history(id)).events.find((e) => e.event.type === 'TimerFired')!;
    assert.ok(fired.time >= created.fireAt, 'fired after the recorded fire time');
  });
});

test('external events: early ones are buffered, late ones delivered, a wait times out with WAIT_TIMEOUT', async () => {
  await withEnv(async (env) => {
    const host = await env.host({
      orchestrations: registry({
        listener: async (ctx) => {
          await ctx.call('noop');
          const a = await ctx.waitForEvent<string>('a');
          const b = await ctx.waitForEvent<{ n: number }>('b');
          let timeout = '';
          try {
            await ctx.waitForEvent('never', { timeoutMs: 100 });
          } catch (err) {
            timeout = (err as { code: string }).code;
          }
          const c = await ctx.waitForEvent<string>('c');
          return { a, b, timeout, c };
        },
      }),
      dispatcher: new InProcessDispatcher({ noop: (async () => delay(200)) as never }),
    });
    const client = await env.client();
    const { id } = await host.startInstance('listener', undefined);
    await client.raiseEvent(id, 'b', { n: 2 }); // before anyone waits for it
    await client.raiseEvent(id, 'a', 'first');
    await waitFor('the timeout to pass', async () => (await client.history(id)).events.some((e) => e.event.type === 'TimerFired'));
    await client.raiseEvent(id, 'c', 'last');
    const st = await client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.deepEqual(st.output, { a: 'first', b: { n: 2 }, timeout: 'WAIT_TIMEOUT', c: 'last' });
    const raised = (await client.history(id)).events.filter((e) => e.event.type === 'EventRaised');
    assert.equal(raised.length, 3, 'each event recorded once');
    await assert.rejects(client.raiseEvent('no-such-instance', 'a'), (e: Error & { code?: string }) => e.code === 'INSTANCE_NOT_FOUND');
  });
});

test('sub-orchestrations run as their own instances and their results or failures reach the parent', async () => {
  await withEnv(async (env) => {
    const host = await env.host({
      orchestrations: registry({
        parent: async (ctx, n: number) => {
          const sums = await Promise.all(Array.from({ length: n }, (_, level) => ctx.callSub<number>('level', level)));
          const named = await ctx.callSub<number>('level', 10, { id: `${ctx.instanceId}-named` });
          let failure = '';
          try {
            await ctx.callSub('broken', undefined);
          } catch (err) {
            failure = `${(err as SubOrchestrationFailedError).name}:${(err as { code: string }).code}`;
          }
          return { sums, named, failure };
        },
        level: async (ctx, level: number) => {
          let s = 0;
          for (let i = 0; i < 3; i++) s += await ctx.call<number>('inc', level);
          return s;
        },
        broken: async (ctx) => {
          await ctx.call('fail');
        },
      }),
      dispatcher: new InProcessDispatcher({
        inc: ((x: number) => x + 1) as never,
        fail: () => {
          throw new TerminalError('BAD_LEVEL', 'this level cannot be computed');
        },
      }),
    });
    const { id } = await host.startInstance('parent', 3, { id: 'job-7', tenant: 'acme' });
    const st = await host.client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(st.status, 'COMPLETED');
    assert.deepEqual(st.output, { sums: [3, 6, 9], named: 33, failure: 'SubOrchestrationFailedError:BAD_LEVEL' });
    const children = await host.client.list({ includeChildren: true, orchestration: 'level' });
    assert.equal(children.items.length, 4);
    for (const c of children.items) {
      assert.equal(c.parentId, id);
      assert.equal(c.tenant, 'acme', 'children inherit the tenant');
      assert.equal(c.status, 'COMPLETED');
      const h = await host.client.history(c.id);
      assert.equal(h.events[0].event.type, 'Started', 'a child has its own history subject');
    }
    assert.ok(children.items.some((c) => c.id === 'job-7-named'));
    const parentEvents = (await host.client.history(id)).events.map((e) => e.event.type);
    assert.equal(parentEvents.filter((t) => t === 'SubCompleted').length, 5);
    assert.equal(parentEvents.filter((t) => t === 'ActivityCompleted').length, 0, 'the children ran the activities');
  });
});

test('continue-as-new starts a fresh generation, carries pending events, and purges older history', async () => {
  await withEnv(async (env) => {
    const host = await env.host({
      orchestrations: registry({
        counter: async (ctx, state: { n: number; seen: string[] }) => {
          const ev = await ctx.waitForEvent<string>('tick');
          const next = { n: state.n + 1, seen: [...state.seen, `${ctx.generation}:${ev}`] };
          await ctx.call('noop');
          if (next.n < 5) return ctx.continueAsNew(next);
          return next;
        },
      }),
      dispatcher: new InProcessDispatcher({ noop: () => undefined }),
    });
    const client = await env.client();
    const { id } = await host.startInstance('counter', { n: 0, seen: [] });
    // raise them all at once: most arrive while an earlier generation is still running
    for (let i = 0; i < 5; i++) await client.raiseEvent(id, 'tick', `t${i}`);
    const st = await client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(st.status, 'COMPLETED');
    assert.deepEqual(st.output, { n: 5, seen: ['0:t0', '1:t1', '2:t2', '3:t3', '4:t4'] });
    assert.equal(st.generation, 4);
    await waitFor('older generations to be purged', async () => {
      const types = (await client.history(id)).events.map((e) => e.event.type);
      return types[0] === 'ContinuedAsNew' && !types.includes('Started') && types.filter((t) => t === 'ContinuedAsNew').length === 1;
    });
  });
});

test('cancel rejects pending steps; code that lets CanceledError escape ends CANCELED, code that handles it completes', async () => {
  await withEnv(async (env) => {
    const aborted: string[] = [];
    const host = await env.host({
      orchestrations: registry({
        stubborn: async (ctx) => {
          await ctx.sleep(60_000);
        },
        tidy: async (ctx) => {
          try {
            await ctx.call('long');
            return 'finished';
          } catch (err) {
            if (!(err instanceof CanceledError)) throw err;
            await ctx.call('cleanup');
            return `cleaned up after: ${err.message}`;
          }
        },
      }),
      dispatcher: new InProcessDispatcher({
        long: ((_: never, req: ActivityRequest) =>
          new Promise((_r, reject) => {
            req.signal.addEventListener('abort', () => {
              aborted.push(req.activityId);
              reject(new Error('aborted'));
            });
          })) as never,
        cleanup: () => 'ok',
      }),
    });
    const client = await env.client();
    const a = await host.startInstance('stubborn', undefined);
    const b = await host.startInstance('tidy', undefined);
    await waitFor('the long activity to start', () => host.instance(b.id)?.inFlightActivities === 1 || undefined);
    await client.cancel(a.id, 'user pressed stop');
    await client.cancel(b.id, 'user pressed stop');
    const sa = await client.waitForCompletion(a.id, { timeoutMs: 5_000 });
    assert.equal(sa.status, 'CANCELED');
    assert.equal(sa.error?.code, 'CANCELED');
    const sb = await client.waitForCompletion(b.id, { timeoutMs: 5_000 });
    assert.equal(sb.status, 'COMPLETED');
    assert.match(String(sb.output), /cleaned up after: .*user pressed stop/);
    assert.equal(aborted.length, 1, 'the canceled activity was told to stop');
  });
});

test('terminate stops an instance at once: TERMINATED, activities aborted, children terminated', async () => {
  await withEnv(async (env) => {
    let aborts = 0;
    const host = await env.host({
      orchestrations: registry({
        parent: async (ctx) => Promise.all([ctx.call('forever'), ctx.callSub('child', undefined)]),
        child: async (ctx) => ctx.waitForEvent('never'),
      }),
      dispatcher: new InProcessDispatcher({
        forever: ((_: never, req: ActivityRequest) =>
          new Promise(() => {
            req.signal.addEventListener('abort', () => aborts++);
          })) as never,
      }),
    });
    const { id } = await host.startInstance('parent', undefined);
    const client = await env.client();
    const child = await waitFor('the child', async () => (await client.list({ includeChildren: true, orchestration: 'child', status: 'RUNNING' })).items[0]);
    await client.terminate(id, 'operator');
    const st = await client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.equal(st.status, 'TERMINATED');
    assert.equal(st.error?.message, 'operator');
    assert.equal(aborts, 1);
    assert.equal((await client.waitForCompletion(child.id, { timeoutMs: 5_000 })).status, 'TERMINATED');
    const last = (await client.history(id)).events.at(-1)!;
    assert.equal(last.event.type, 'Terminated');
  });
});

test('suspend holds deliveries (recorded, not applied) until resume', async () => {
  await withEnv(async (env) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const host = await env.host({
      orchestrations: registry({ gated: async (ctx) => `${await ctx.call<string>('wait')} then ${await ctx.call<string>('after')}` }),
      dispatcher: new InProcessDispatcher({ wait: (async () => gate.then(() => 'opened')) as never, after: () => 'after' }),
    });
    const client = await env.client();
    const { id } = await host.startInstance('gated', undefined);
    await client.suspend(id, 'pause');
    await waitFor('SUSPENDED', async () => (await client.status(id))?.status === 'SUSPENDED');
    release();
    await waitFor('the held result to be recorded', async () => (await client.history(id)).events.some((e) => e.event.type === 'ActivityCompleted' && (e.event as { held?: boolean }).held === true));
    await delay(100);
    assert.equal((await client.status(id))?.status, 'SUSPENDED');
    assert.equal((await client.history(id)).events.filter((e) => e.event.type === 'ActivityCompleted').length, 1, 'the code did not go on');
    await client.resume(id);
    const st = await client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.equal(st.output, 'opened then after');
  });
});

test('values above 64 KB go to the blob store and come back intact, in events and in the status', async () => {
  await withEnv(async (env) => {
    const big = (seed: number) => Uint8Array.from({ length: 200_000 }, (_, i) => (i * seed) % 251);
    const host = await env.host({
      orchestrations: registry({
        bigdata: async (ctx, input: Uint8Array) => {
          const out = await ctx.call<Uint8Array>('transform', input);
          const ev = await ctx.waitForEvent<Uint8Array>('more');
          return { out, evLen: ev.length, inLen: input.length };
        },
      }),
      dispatcher: new InProcessDispatcher({ transform: ((x: Uint8Array) => x.map((v) => 255 - v)) as never }),
    });
    const client = await env.client();
    const input = big(3);
    const { id } = await host.startInstance('bigdata', input);
    await client.raiseEvent(id, 'more', big(5));
    const st = await client.waitForCompletion(id, { timeoutMs: 10_000 });
    const out = st.output as { out: Uint8Array; evLen: number; inLen: number };
    assert.equal(out.inLen, 200_000);
    assert.equal(out.evLen, 200_000);
    assert.deepEqual(Buffer.from(out.out), Buffer.from(input.map((v) => 255 - v)));
    const events = (await client.history(id)).events;
    for (const e of events) {
      const s = e.event as { v?: Uint8Array; ref?: string };
      assert.ok(!s.v || s.v.length <= 64 * 1024, `${e.event.type} inline value is small`);
    }
    assert.ok(events.filter((e) => (e.event as { ref?: string }).ref).length >= 3, 'Started, ActivityCompleted and EventRaised hold refs');
    assert.ok(st.stats!.bytes < 50_000, `history stays small: ${st.stats!.bytes} bytes`);
  });
});

test('retries: retryable failures are retried with backoff, terminal ones are not, timeouts count as retryable', async () => {
  await withEnv(async (env) => {
    const attempts = new Map<string, number>();
    const bump = (k: string) => attempts.set(k, (attempts.get(k) ?? 0) + 1).get(k)!;
    const host = await env.host({
      orchestrations: registry({
        flaky: async (ctx) => {
          const ok = await ctx.call('flaky', undefined, { retry: { maxAttempts: 5, firstBackoffMs: 10 } });
          const results: string[] = [String(ok)];
          for (const name of ['terminal', 'slow', 'missing']) {
            try {
              await ctx.call(name, undefined, { retry: { maxAttempts: 3, firstBackoffMs: 5 }, timeoutMs: 100 });
            } catch (err) {
              results.push(`${(err as ActivityFailedError).name}:${(err as { code: string }).code}`);
            }
          }
          return results;
        },
      }),
      dispatcher: new InProcessDispatcher({
        flaky: (() => {
          if (bump('flaky') < 3) throw new RetryableError('NODE_BUSY', 'try again');
          return 'third time lucky';
        }) as never,
        terminal: (() => {
          bump('terminal');
          throw new TerminalError('BAD_INPUT', 'the mask is empty');
        }) as never,
        slow: (async () => {
          bump('slow');
          await delay(1_000);
        }) as never,
      }),
    });
    const { id } = await host.startInstance('flaky', undefined);
    const st = await host.client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.deepEqual(st.output, ['third time lucky', 'ActivityFailedError:BAD_INPUT', 'ActivityFailedError:ACTIVITY_TIMEOUT', 'ActivityFailedError:UNKNOWN_ACTIVITY']);
    assert.equal(attempts.get('flaky'), 3);
    assert.equal(attempts.get('terminal'), 1);
    assert.equal(attempts.get('slow'), 3);
    const failed = (await host.client.history(id)).events.filter((e) => e.event.type === 'ActivityFailed');
    assert.equal((failed[1].event as { attempts: number }).attempts, 3);
  });
});

test('an uncaught error fails the instance with its code; unknown orchestrations are left for a host that has them', async () => {
  await withEnv(async (env) => {
    const host = await env.host({
      orchestrations: registry({
        boom: async () => {
          throw new TerminalError('OPTIONS_INVALID', 'iterations must be >= 1');
        },
      }),
      dispatcher: new InProcessDispatcher({}),
    });
    const { id } = await host.startInstance('boom', undefined);
    const st = await host.client.waitForCompletion(id, { timeoutMs: 5_000 });
    assert.equal(st.status, 'FAILED');
    assert.equal(st.error?.code, 'OPTIONS_INVALID');
    const other = await host.client.start('not-registered-here', undefined);
    await delay(300);
    assert.equal((await host.client.status(other.id))?.status, 'PENDING');
    assert.equal(host.instance(other.id), undefined);
  });
});

test('strict durability: no step starts before the result it follows is stored', async () => {
  await withEnv(async (env) => {
    const seenBefore: boolean[] = [];
    const client = await env.client();
    const host = await env.host({
      durability: 'strict',
      orchestrations: registry({
        chain: async (ctx, n: number) => {
          for (let i = 0; i < n; i++) await ctx.call('step', i);
          return n;
        },
      }),
      dispatcher: new InProcessDispatcher({
        step: (async (i: number, req: ActivityRequest) => {
          if (i > 0) {
            const h = await client.history(req.instanceId, { limit: 10_000 });
            seenBefore.push(h.events.some((e) => e.event.type === 'ActivityCompleted' && e.value === i - 1));
          }
          return i;
        }) as never,
      }),
    });
    const { id } = await host.startInstance('chain', 15);
    await client.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(seenBefore.length, 14);
    assert.ok(seenBefore.every(Boolean), JSON.stringify(seenBefore));
  });
});
