// Kernel nodes under faults, as real processes: a node killed with SIGKILL in the middle of a
// call (the call finishes on another node, with the same result); a saturated node pushing back
// with RESOURCE_EXHAUSTED without falling over; a node draining on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { Kvm } from '@nats-io/kv';
import { CodedError } from '../../src/common/errors.ts';
import { blobIdOf } from '../../src/common/blob-store.ts';
import { NodeClient, StepMode, inpaintRemote, type JobSpec, type StepRequest } from '../../src/kernel/client/index.ts';
import { encodeImage, inpaint } from '../../src/kernel/index.ts';
import { startTestCluster, type TestCluster } from '../support/kernel-cluster.ts';
import { discMask, texturedImage } from '../support/images.ts';
import { metricValue, type KernelNodeProcess } from '../support/kernel-node.ts';

// Slow enough (cie2000, the whole pyramid in one call) to be caught in the middle.
const image = texturedImage(320, 240, 11);
const mask = discMask(320, 240, 160, 120, 56);
const slow = { distance: 'cie2000' as const, seed: 5, maxIterations: 5 };

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const inFlight = async (node: KernelNodeProcess): Promise<number> => metricValue(await node.metrics(), 'patchwork_kernel_calls_in_flight');

/** A Step that runs every level of the job on one node: one long call. */
async function wholePyramid(c: TestCluster, job: JobSpec): Promise<StepRequest> {
  const plan = await c.cluster.prepare({ job }, { placementKey: job.jobId });
  return { job, level: plan.response.levels.length - 1, iteration: 0, mode: StepMode.STEP_MODE_ITERATE, previous: [], previousState: Buffer.alloc(0), tiles: [], continueThroughLevel: 0, pushResults: false, advance: false, nextTiles: [], team: undefined };
}

const client = (node: KernelNodeProcess): NodeClient => new NodeClient(node.id, `127.0.0.1:${node.port}`, credentials.createInsecure());

test('a node killed with SIGKILL mid-call: the call finishes on another node, same bytes', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(3);
  try {
    const expected = blobIdOf(await encodeImage(await inpaint(image, mask, { ...slow, workers: 1 }), 'png'));
    const job = await c.job('killed-mid-call', image, mask, slow);
    const victimId = c.cluster.ranked(job.jobId)[0].id;
    const victim = c.nodes.find((n) => n.id === victimId)!;
    let killedInFlight = -1;
    // The client-driven path (team runs fail over by run, tested in kernel-team-runs): everything
    // in one continue call on the job's first node; kill that node while it runs it.
    const fill = inpaintRemote(c.cluster, job, { maxNodes: 3, teamRuns: false, soloMaxTargets: Number.MAX_SAFE_INTEGER, minShardTargets: Number.MAX_SAFE_INTEGER });
    // The driver prepares on every node, then sends the long Step to the first: once the
    // victim's Prepare is answered, the call it has in flight is that Step.
    await waitUntil('the first node runs the long step', async () => {
      const text = await victim.metrics();
      return metricValue(text, 'patchwork_kernel_calls_total', { method: 'Prepare', code: 'OK' }) >= 1 && metricValue(text, 'patchwork_kernel_calls_in_flight') >= 1;
    });
    await new Promise((r) => setTimeout(r, 200));
    killedInFlight = await inFlight(victim);
    const exit = await victim.kill('SIGKILL');
    const run = await fill;
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(killedInFlight, 1, 'the node was killed while answering a call');
    assert.equal(run.result.id, expected, 'output differs from in-process after failover');
    assert.ok(run.usage.attempts > run.usage.calls, `a call must have been retried (calls ${run.usage.calls}, attempts ${run.usage.attempts})`);
    assert.ok(!(victimId in run.stepsByNode), 'the killed node answered no step');
  } finally {
    await c.close();
  }
});

test('a saturated node answers RESOURCE_EXHAUSTED, stays up, and the client goes elsewhere', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(2, { maxCalls: 1 });
  try {
    const [a, b] = c.nodes;
    const ca = client(a);
    try {
      // Distinct seeds: distinct jobs, each a real prepare.
      const jobs = await Promise.all([1, 2, 3, 4, 5].map((seed) => c.job(`sat-${seed}`, image, mask, { ...slow, seed })));
      const outcomes = await Promise.allSettled(jobs.map((job) => ca.call('prepare', { job }, 30_000)));
      const busy = outcomes.filter((o) => o.status === 'rejected' && (o.reason as CodedError).code === 'KERNEL_BUSY');
      const ok = outcomes.filter((o) => o.status === 'fulfilled');
      assert.ok(ok.length >= 1, 'the first call is served');
      assert.ok(busy.length >= 1, `calls beyond capacity are refused: ${outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as CodedError).code)).join(',')}`);
      for (const o of busy) assert.equal((o as PromiseRejectedResult).reason.retryable, true);
      assert.equal(busy.length + ok.length, outcomes.length, 'no other failure');
      const text = await a.metrics();
      assert.ok(metricValue(text, 'patchwork_kernel_calls_rejected_total', { reason: 'busy' }) >= 1);
      // Still up and serving.
      await ca.call('prepare', { job: jobs[0] }, 30_000);
      assert.equal(a.child.exitCode, null);

      // While a holds a long call, the cluster sends a call that prefers a to b instead.
      const long = ca.call('step', await wholePyramid(c, jobs[1]), 60_000);
      await waitUntil('node a is busy', async () => (await inFlight(a)) >= 1);
      let key = 'x';
      for (let i = 0; c.cluster.ranked(key)[0].id !== a.id; i++) key = `prefers-a-${i}`;
      const viaCluster = await c.cluster.prepare({ job: jobs[2] }, { placementKey: key });
      assert.equal(viaCluster.node, b.id, 'the saturated node was skipped');
      await long;
    } finally {
      ca.close();
    }
  } finally {
    await c.close();
  }
});

test('SIGTERM drains: the call in flight finishes, new calls are refused, the record goes, exit 0', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(2);
  try {
    const [a] = c.nodes;
    const ca = client(a);
    try {
      const job = await c.job('drain', image, mask, slow);
      const long = ca.call('step', await wholePyramid(c, job), 60_000);
      await waitUntil('node a runs the long call', async () => (await inFlight(a)) >= 1);
      a.child.kill('SIGTERM');
      await waitUntil('node a says it drains', () => a.log.some((l) => l.includes('draining')));
      await assert.rejects(ca.call('prepare', { job }, 10_000), (e: unknown) => e instanceof CodedError && e.retryable && ['KERNEL_DRAINING', 'KERNEL_UNAVAILABLE'].includes(e.code));
      const kv = await new Kvm(c.nc).open(`${c.namespace}_nodes`);
      const entry = await kv.get(a.id);
      assert.ok(!entry || entry.operation !== 'PUT', 'the node record is deleted while draining');
      await waitUntil('the client drops the node', () => !c.cluster.nodes.list().some((n) => n.id === a.id));
      const done = await long;
      assert.equal(done.reports[done.reports.length - 1].level, 0, 'the call in flight completed');
      const exit = await a.exited;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(a.log.some((l) => l.includes('"finished":true')));
    } finally {
      ca.close();
    }
  } finally {
    await c.close();
  }
});

test('a call can be cancelled, and one that runs out of time fails with KERNEL_DEADLINE', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(1);
  try {
    const job = await c.job('cancel', image, mask, slow);
    const req = await wholePyramid(c, job);
    const controller = new AbortController();
    const t0 = Date.now();
    const cancelledCall = c.cluster.step(req, { placementKey: job.jobId, signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    await assert.rejects(cancelledCall, (e: unknown) => e instanceof CodedError && e.code === 'CANCELLED' && !e.retryable);
    assert.ok(Date.now() - t0 < 1_500, 'cancelling does not wait for the node');
    // The node stops the abandoned work at its next step instead of running the whole pyramid.
    const [node] = c.nodes;
    await waitUntil('the node drops the cancelled call', async () => (await inFlight(node)) === 0, 2_500);
    assert.ok(metricValue(await node.metrics(), 'patchwork_kernel_calls_total', { method: 'Step', code: 'OK' }) === 0, 'the cancelled call did not run to the end');
    await assert.rejects(
      c.cluster.step(req, { placementKey: job.jobId, deadline: Date.now() + 200 }),
      (e: unknown) => e instanceof CodedError && e.code === 'KERNEL_DEADLINE',
    );
    // The node is fine and finishes work afterwards.
    const done = await c.cluster.step(req, { placementKey: job.jobId });
    assert.equal(done.response.reports[done.response.reports.length - 1].level, 0);
  } finally {
    await c.close();
  }
});
