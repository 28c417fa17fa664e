// A team run whose result stores start failing mid-run (the Object Store's stream gone, as while
// NATS servers restart one by one: "no responders" on the chunk subject): every member's call
// fails with a coded error, and the kernel node processes live on. Before the fix, a member's
// store bookkeeping left a rejected promise without a handler until the run's end, so the first
// failed store killed the node (an unhandled rejection): in the fault suite's NATS rolling
// restart all three nodes died at once and every team-run job stalled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { isCodedError } from '../../src/common/errors.ts';
import { StepMode, type StepRequest } from '../../src/kernel/client/index.ts';
import { startTestCluster } from '../support/kernel-cluster.ts';
import { discMask, texturedImage } from '../support/images.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('stores failing mid-run fail the members retryably; no kernel node dies', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(2, { env: { PATCHWORK_LOG_LEVEL: 'debug' } });
  try {
    const image = texturedImage(320, 240);
    const mask = discMask(320, 240, 150, 120, 60);
    const job = await c.job('store-fails', image, mask, { seed: 5, maxIterations: 30 });
    const plan = (await c.cluster.prepare({ job }, { placementKey: job.jobId })).response;
    const top = plan.levels.length - 1;
    // One run over every level (no budget), many steps: the stores fail while it is under way.
    const member = (index: number): StepRequest => ({
      job,
      level: top,
      iteration: 0,
      mode: StepMode.STEP_MODE_ITERATE,
      previous: [],
      previousState: Buffer.alloc(0),
      tiles: [],
      continueThroughLevel: 0,
      pushResults: false,
      advance: false,
      nextTiles: [],
      team: { run: 'store-fails/0', size: 2, index, includeVote: true, budgetTargets: 0 },
    });
    const calls = [0, 1].map((i) => c.cluster.step(member(i), { placementKey: job.jobId, rank: i, attempts: 1 }).then(
      () => 'answered',
      (e: unknown) => e,
    ));
    // Once both members have finished a few steps, the blob bucket's stream goes away.
    const steps = (): number => c.nodes.reduce((n, p) => n + p.log.filter((l) => l.includes('"msg":"team step"')).length, 0);
    const end = Date.now() + 30_000;
    while (steps() < 4 && Date.now() < end) await sleep(10);
    assert.ok(steps() >= 4, 'the run did not get going');
    const jsm = await jetstreamManager(c.nc);
    await jsm.streams.delete(`OBJ_${c.namespace}_blobs`);
    const outcomes = await Promise.all(calls);
    // Let a crash (an unhandled rejection a moment later) show.
    await sleep(500);
    for (const p of c.nodes) assert.equal(p.child.exitCode ?? p.child.signalCode, null, `kernel node ${p.id} died:\n${p.log.slice(-30).join('\n')}`);
    for (const o of outcomes) {
      assert.ok(isCodedError(o), `a member answered although its results could not be stored: ${String(o)}`);
      assert.ok(o.retryable, `a failed store is retryable: ${o.code} ${o.message}`);
    }
  } finally {
    await c.close();
  }
});
