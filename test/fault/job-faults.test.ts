// Faults under a running inpaint job, on real processes: the host process killed with SIGKILL
// mid-job (another host process resumes it: no kernel call completed before the kill runs
// again, the bytes are unchanged), a pause that outlives its host, and a kernel node killed
// mid-job (the bytes are unchanged).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobRuntime } from '../../src/actors/index.ts';
import { metricValue } from '../support/kernel-node.ts';
import { collectWatch, exampleCase, localResultId, startJobCluster, type JobTestCluster } from '../support/job-cluster.ts';
import { delay, waitFor } from '../support/actors.ts';
import { startFixture, type FixtureProcess } from '../support/processes.ts';

const HOST = 'test/fixtures/job-host-process.ts';
const tenant = 'crash';

let c: JobTestCluster;
let api: JobRuntime;
let dir: string;

before(async () => {
  c = await startJobCluster({ nodes: 2 });
  // The test's own runtime creates and reads jobs but never hosts them: the host processes do.
  api = await c.runtime({ host: { claim: false }, startLocally: false });
  dir = mkdtempSync(join(tmpdir(), 'pw-jobfault-'));
});
after(async () => {
  await c?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface CallLine {
  kind: 'start' | 'done';
  activityId: string;
  name: string;
  host: string;
}

function calls(file: string): CallLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [kind, activityId, name, host] = l.split(' ');
      return { kind: kind as CallLine['kind'], activityId, name, host };
    });
}

/** Activity ids whose completion is in the job's history, and how many kernel steps that is. */
async function recorded(id: string): Promise<{ ids: Set<string>; steps: number }> {
  const page = await api.host.client.history(id, { limit: 100_000 });
  const ids = new Set<string>();
  let steps = 0;
  for (const r of page.events) {
    if (r.event.type !== 'ActivityCompleted') continue;
    ids.add(`${id}/0/${r.event.seq}`);
    if (r.event.name === 'kernel.step') steps++;
  }
  return { ids, steps };
}

async function kernelCallsInFlight(): Promise<number> {
  let n = 0;
  for (const node of c.nodes) n += metricValue(await node.metrics(), 'patchwork_kernel_calls_in_flight');
  return n;
}

async function kernelCallsOk(): Promise<number> {
  let n = 0;
  for (const node of c.nodes) {
    const text = await node.metrics();
    for (const method of ['Prepare', 'Step', 'Preview', 'Finish']) n += metricValue(text, 'patchwork_kernel_calls_total', { method, code: 'OK' });
  }
  return n;
}

async function uploadCase(name: 't067' | 't009', width?: number) {
  const ex = await exampleCase(name, width);
  const image = await c.upload(api.jobs, tenant, ex.image);
  const mask = await c.upload(api.jobs, tenant, ex.mask);
  return { ex, image, mask };
}

test('host SIGKILLed mid-job: another host resumes from the last recorded step; no completed kernel call runs again; same bytes', { timeout: 180_000 }, async (t) => {
  const log = join(dir, 'calls-crash.log');
  const env = { NATS_URL: c.nats.url, PW_NAMESPACE: c.namespace, PW_CALL_LOG: log, PW_LEASE_TTL_MS: '1000' };
  const procs: FixtureProcess[] = [];
  try {
    const a = startFixture(HOST, { ...env, PW_HOST_ID: 'A' });
    procs.push(a);
    await a.waitFor('ready', 30_000);
    const { ex, image, mask } = await uploadCase('t009', 640);
    const options = { seed: 17 };
    const expected = localResultId(ex, options);
    const job = await api.jobs.create(tenant, { imageId: image.id, maskId: mask.id, options });
    // Kill once the job is well into its split levels (several step calls recorded).
    await waitFor('4 recorded kernel steps', async () => (await recorded(job.id)).steps >= 4, 60_000, 5);
    await a.kill('SIGKILL');
    const before = await recorded(job.id);
    const ranInA = calls(log).filter((l) => l.host === 'A');
    const inFlight = ranInA.filter((l) => l.kind === 'start' && !before.ids.has(l.activityId)).map((l) => l.activityId);
    assert.ok(before.ids.size > 0);

    const b = startFixture(HOST, { ...env, PW_HOST_ID: 'B' });
    procs.push(b);
    const views = await collectWatch(api.jobs, tenant, job.id);
    const final = views[views.length - 1];
    assert.equal(final.status, 'COMPLETED', JSON.stringify(final.error));
    assert.equal(final.result?.id, await expected, 'output bytes changed across the host crash');

    const all = calls(log);
    const starts = new Map<string, number>();
    for (const l of all) if (l.kind === 'start') starts.set(l.activityId, (starts.get(l.activityId) ?? 0) + 1);
    for (const id of before.ids) assert.equal(starts.get(id), 1, `activity ${id} completed (recorded) before the kill and must not run again`);
    const again = [...starts].filter(([, n]) => n > 1).map(([id]) => id);
    for (const id of again) assert.ok(inFlight.includes(id), `activity ${id} ran twice but was not in flight at the kill (in flight: ${inFlight.join(', ')})`);
    // B started only what was not recorded: its first activity comes after everything recorded.
    const firstInB = all.find((l) => l.host === 'B' && l.kind === 'start');
    assert.ok(firstInB);
    assert.ok(!before.ids.has(firstInB.activityId));
    // The nodes saw exactly the calls the hosts made (a call in flight at the kill may have finished there unseen).
    const kernelStarts = all.filter((l) => l.kind === 'start' && l.name.startsWith('kernel.') && l.name !== 'kernel.nodes').length;
    const kernelDone = all.filter((l) => l.kind === 'done' && l.name.startsWith('kernel.') && l.name !== 'kernel.nodes').length;
    const nodeOk = await kernelCallsOk();
    assert.ok(nodeOk >= kernelDone && nodeOk <= kernelStarts, `nodes answered ${nodeOk} calls; hosts started ${kernelStarts}, saw ${kernelDone} done`);
    const hosts = (await api.host.client.history(job.id, { limit: 100_000 })).events.filter((e) => e.event.type === 'Activated').map((e) => (e.event as { host: string }).host);
    assert.deepEqual(hosts, ['A', 'B']);
    t.diagnostic(`recorded before the kill: ${before.ids.size} activities (${before.steps} steps); in flight: ${inFlight.length}; ran again: ${again.length}; kernel calls on nodes ${nodeOk}`);
  } finally {
    for (const p of procs) await p.kill('SIGKILL');
  }
});

test('a pause outlives its host: the next host keeps the job paused (no kernel work) until resumed; same bytes', { timeout: 180_000 }, async () => {
  const log = join(dir, 'calls-pause.log');
  const env = { NATS_URL: c.nats.url, PW_NAMESPACE: c.namespace, PW_CALL_LOG: log, PW_LEASE_TTL_MS: '1000' };
  const procs: FixtureProcess[] = [];
  try {
    const a = startFixture(HOST, { ...env, PW_HOST_ID: 'A' });
    procs.push(a);
    await a.waitFor('ready', 30_000);
    const { ex, image, mask } = await uploadCase('t067');
    const options = { seed: 29 };
    const expected = localResultId(ex, options);
    const job = await api.jobs.create(tenant, { imageId: image.id, maskId: mask.id, options });
    await waitFor('a recorded step', async () => (await recorded(job.id)).steps >= 1, 60_000, 5);
    assert.equal((await api.jobs.pause(tenant, job.id)).status, 'PAUSED');
    await delay(300);
    await a.kill('SIGKILL');
    const b = startFixture(HOST, { ...env, PW_HOST_ID: 'B' });
    procs.push(b);
    await waitFor('B to activate the job', async () => (await api.host.client.history(job.id, { limit: 100_000 })).events.some((e) => e.event.type === 'Activated' && (e.event as { host: string }).host === 'B'), 20_000);
    // Calls A had started before the pause finish: on the nodes, and those whose answers A had
    // not recorded are issued again by B (the same activities: a team run's members go on to
    // the end of their run). After that, nothing may run, and B starts no call A had not started.
    let seen = -1;
    await waitFor(
      'the calls started before the pause to finish and be recorded',
      async () => {
        const n = (await api.host.client.history(job.id, { limit: 100_000 })).events.length;
        const quiet = (await kernelCallsInFlight()) === 0 && n === seen;
        seen = n;
        return quiet ? true : undefined;
      },
      60_000,
      300,
    );
    const callsAtTakeover = await kernelCallsOk();
    assert.ok(callsAtTakeover > 0, 'the node metrics count calls');
    await delay(1_500);
    assert.equal(await kernelCallsOk(), callsAtTakeover, 'the new host ran kernel work for a paused job');
    const startedByA = new Set(calls(log).filter((l) => l.host === 'A' && l.kind === 'start').map((l) => l.activityId));
    const newByB = calls(log).filter((l) => l.host === 'B' && l.kind === 'start' && l.name.startsWith('kernel.') && !startedByA.has(l.activityId));
    assert.deepEqual(newByB, [], 'B started no kernel call that A had not started before the pause');
    assert.equal((await api.jobs.get(tenant, job.id))?.status, 'PAUSED');
    assert.notEqual((await api.jobs.resume(tenant, job.id)).status, 'PAUSED');
    const views = await collectWatch(api.jobs, tenant, job.id);
    assert.equal(views[views.length - 1].status, 'COMPLETED');
    assert.equal(views[views.length - 1].result?.id, await expected);
  } finally {
    for (const p of procs) await p.kill('SIGKILL');
  }
});

test('a kernel node SIGKILLed mid-job: the job fails over to the other node; same bytes', { timeout: 180_000 }, async () => {
  const host = await c.runtime();
  const { ex, image, mask } = await uploadCase('t009', 640);
  const options = { seed: 31 };
  const expected = localResultId(ex, options);
  const job = await host.jobs.create(tenant, { imageId: image.id, maskId: mask.id, options });
  await waitFor('2 recorded kernel steps', async () => (await recorded(job.id)).steps >= 2, 60_000, 5);
  // Held by a pause, so that work is left for after the kill however fast the kernel is; the
  // node still looks live in the registry until its heartbeat lapses, so calls do reach it.
  await host.jobs.pause(tenant, job.id);
  const killedAt = Date.now();
  const [survivor, victim] = c.nodes;
  await victim.kill('SIGKILL');
  await host.jobs.resume(tenant, job.id);
  const views = await collectWatch(host.jobs, tenant, job.id);
  const final = views[views.length - 1];
  assert.equal(final.status, 'COMPLETED', JSON.stringify(final.error));
  assert.equal(final.result?.id, await expected, 'output bytes changed when a node died');
  const kernelDone = (await host.jobs.history(tenant, job.id, { first: 100 })).items.filter((h) => h.type === 'ActivityCompleted' && h.summary.startsWith('kernel.'));
  const after = kernelDone.filter((h) => Date.parse(h.time) > killedAt);
  const onSurvivor = (h: { summary: string }) => h.summary.endsWith(` on ${survivor.id}`) || h.summary.includes(` on ${survivor.id} (`);
  assert.ok(after.some(onSurvivor), `the surviving node (${survivor.id}) took the work: ${JSON.stringify(kernelDone.map((h) => [Date.parse(h.time) - killedAt, h.summary]))}`);
  // An event's time is when the host recorded it, not when the node answered: a call node-1
  // answered just before the kill may be recorded a little later on a loaded machine. Well after
  // the kill, every answer is node-0's.
  for (const h of after.filter((h) => Date.parse(h.time) > killedAt + 2_000)) assert.ok(onSurvivor(h), `after the kill, only the surviving node answers: ${h.summary}`);
});
