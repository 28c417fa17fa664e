// A host process killed with SIGKILL: another host process takes its instances over after the
// lease lapses and finishes them. Completed (recorded) steps never run again; only steps in
// flight at the kill may. Durable timers fire at their recorded time on the new host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '../../src/common/nats.ts';
import { ActorClient } from '../../src/actors/index.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { uniqueNamespace, waitFor } from '../support/actors.ts';
import { startFixture, type FixtureProcess } from '../support/processes.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.dispose();
});

const HOST = 'test/fixtures/actor-host-process.ts';

function executions(file: string): number[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number)
    : [];
}

test('SIGKILL mid-chain: a second host finishes the instance; no recorded step runs again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-crash-'));
  const countFile = join(dir, 'runs.txt');
  const namespace = uniqueNamespace('crash');
  const env = { NATS_URL: server.url, PW_NAMESPACE: namespace, PW_COUNT_FILE: countFile, PW_LEASE_TTL_MS: '1000' };
  const procs: FixtureProcess[] = [];
  const nc = await connectNats({ servers: server.url });
  try {
    const client = await ActorClient.connect({ connection: nc, namespace });
    const a = startFixture(HOST, { ...env, PW_HOST_ID: 'A' });
    procs.push(a);
    await a.waitFor('ready');
    const { id } = await client.start('chain', { n: 40, delayMs: 25 });
    await waitFor('10 recorded steps', async () => (await client.history(id, { limit: 10_000 })).events.filter((e) => e.event.type === 'ActivityCompleted').length >= 10);
    await a.kill('SIGKILL');
    const recorded = new Set((await client.history(id, { limit: 10_000 })).events.filter((e) => e.event.type === 'ActivityCompleted').map((e) => e.value as number));
    const ranBeforeKill = executions(countFile);
    const inFlight = ranBeforeKill.filter((i) => !recorded.has(i));

    const b = startFixture(HOST, { ...env, PW_HOST_ID: 'B' });
    procs.push(b);
    const st = await client.waitForCompletion(id, { timeoutMs: 30_000 });
    assert.equal(st.status, 'COMPLETED');
    assert.deepEqual(
      st.output,
      Array.from({ length: 40 }, (_, i) => i),
    );
    const runs = new Map<number, number>();
    for (const i of executions(countFile)) runs.set(i, (runs.get(i) ?? 0) + 1);
    assert.equal(runs.size, 40);
    for (const i of recorded) assert.equal(runs.get(i), 1, `step ${i} was recorded before the kill and must not run again`);
    const reran = [...runs].filter(([, n]) => n > 1).map(([i]) => i);
    for (const i of reran) assert.ok(inFlight.includes(i), `step ${i} ran again but was not in flight at the kill (in flight: ${inFlight.join(',')})`);
    assert.ok(reran.length <= inFlight.length);
    t.diagnostic(`recorded before the kill: ${recorded.size}; in flight: [${inFlight.join(',')}]; ran again: [${reran.join(',')}]`);
    const activations = (await client.history(id, { limit: 10_000 })).events.filter((e) => e.event.type === 'Activated').map((e) => (e.event as { host: string }).host);
    assert.deepEqual(activations, ['A', 'B']);
  } finally {
    for (const p of procs) await p.kill('SIGKILL');
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a durable timer survives its host being killed: the next host fires it at its recorded time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-timer-'));
  const namespace = uniqueNamespace('timer');
  const env = { NATS_URL: server.url, PW_NAMESPACE: namespace, PW_COUNT_FILE: join(dir, 'runs.txt'), PW_LEASE_TTL_MS: '800' };
  const procs: FixtureProcess[] = [];
  const nc = await connectNats({ servers: server.url });
  try {
    const client = await ActorClient.connect({ connection: nc, namespace });
    const a = startFixture(HOST, { ...env, PW_HOST_ID: 'A' });
    procs.push(a);
    await a.waitFor('ready');
    const { id } = await client.start('sleeper', { ms: 2_500 });
    const created = await waitFor('the timer to be recorded', async () => (await client.history(id)).events.find((e) => e.event.type === 'TimerCreated'));
    const fireAt = (created.event as { fireAt: number }).fireAt;
    await a.kill('SIGKILL');
    const b = startFixture(HOST, { ...env, PW_HOST_ID: 'B' });
    procs.push(b);
    const st = await client.waitForCompletion(id, { timeoutMs: 30_000 });
    const out = st.output as { t0: number; woke: number };
    assert.ok(out.woke >= fireAt, `woke at ${out.woke}, due at ${fireAt}`);
    assert.ok(out.woke < fireAt + 2_000, `woke ${out.woke - fireAt} ms late`);
    const events = (await client.history(id)).events.map((e) => e.event);
    assert.equal(events.filter((e) => e.type === 'TimerCreated').length, 1, 'the timer was re-armed, not created again');
    assert.equal(events.filter((e) => e.type === 'TimerFired').length, 1);
    assert.deepEqual(
      events.filter((e) => e.type === 'Activated').map((e) => (e as { host: string }).host),
      ['A', 'B'],
    );
  } finally {
    for (const p of procs) await p.kill('SIGKILL');
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
