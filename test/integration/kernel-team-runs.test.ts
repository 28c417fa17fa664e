// Team runs on real kernel node processes: teams of 2 and 3 give the in-process bytes (and so
// does the client-driven path they replace); a member killed with SIGKILL mid-run fails the run,
// which is tried again on the live nodes with the same bytes; an announcement lost because a
// member joined late is asked for again (no hang). With store_last_step_only only a run's last
// step is stored, and a late member still gets the earlier steps' batches (pushed again from the
// members' caches). A peer that never comes is computed by the member itself after the wait (it
// finishes alone, same bytes, storing only its own share), and so is a peer whose node died after
// it answered (the double fault of a job-host crash followed by that node's crash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blobIdOf } from '../../src/common/blob-store.ts';
import { formatToWire } from '../../src/kernel/cluster/wire.ts';
import { decodeResultBatch } from '../../src/kernel/cluster/result-batch.ts';
import { StepMode, inpaintRemote, type JobSpec, type ResultRef, type StepReport, type StepRequest } from '../../src/kernel/client/index.ts';
import { encodeImage, inpaint, type TileResult } from '../../src/kernel/index.ts';
import { startTestCluster, type TestCluster } from '../support/kernel-cluster.ts';
import { discMask, texturedImage, unionMask } from '../support/images.ts';
import { metricValue } from '../support/kernel-node.ts';

const image = texturedImage(224, 168);
// An object (a disc of ~5,000 px) and two spots: the spots' targets search more on the fine
// levels (small-holes.ts), a rule every node must apply alike.
const mask = unionMask(discMask(224, 168, 100, 90, 40), discMask(224, 168, 25, 25, 5), discMask(224, 168, 200, 145, 6));
const options = { seed: 21, maxIterations: 6 };

const expected = (async () => blobIdOf(await encodeImage(await inpaint(image, mask, { ...options, workers: 1 }), 'png')))();

async function tilesOf(c: TestCluster, refs: readonly ResultRef[]): Promise<TileResult[]> {
  const batches = await Promise.all(refs.map(async (r) => decodeResultBatch(await c.store.get(r.blobId))));
  return batches.flat().sort((a, b) => a.tile - b.tile);
}

function teamStep(job: JobSpec, level: number, run: string, size: number, index: number, through: number, storeLastStepOnly?: boolean): StepRequest {
  return {
    job,
    level,
    iteration: 0,
    mode: StepMode.STEP_MODE_ITERATE,
    previous: [],
    previousState: Buffer.alloc(0),
    tiles: [],
    continueThroughLevel: through,
    pushResults: false,
    advance: false,
    nextTiles: [],
    team: { run, size, index, includeVote: false, budgetTargets: 0, storeLastStepOnly },
  };
}

test('teams of 2 and 3 nodes, and the client-driven path, give the in-process bytes', { timeout: 180_000 }, async () => {
  const c = await startTestCluster(3);
  try {
    const two = await inpaintRemote(c.cluster, await c.job('team-2', image, mask, options), { maxNodes: 2 });
    const three = await inpaintRemote(c.cluster, await c.job('team-3', image, mask, options), { maxNodes: 3, runTargets: 4_000 });
    const chunks = await inpaintRemote(c.cluster, await c.job('chunks', image, mask, options), { maxNodes: 3, teamRuns: false, minShardTargets: 100, soloMaxTargets: 0 });
    assert.equal(two.result.id, await expected, 'a team of 2 differs from in-process');
    assert.equal(three.result.id, await expected, 'a team of 3 differs from in-process');
    assert.equal(chunks.result.id, await expected, 'the client-driven path differs from in-process');
    assert.equal(Object.keys(three.stepsByNode).length, 3, `every member ran steps: ${JSON.stringify(three.stepsByNode)}`);
    // Small budget: several runs, each one Step per member (plus 3 Prepare and 1 Finish).
    assert.ok(three.usage.calls > 4 + 3 * 2, `several runs: ${three.usage.calls} calls`);
  } finally {
    await c.close();
  }
});

test('a member killed with SIGKILL mid-run: the run is tried again on the live nodes, same bytes', { timeout: 180_000 }, async () => {
  const c = await startTestCluster(3);
  try {
    const job = await c.job('team-kill', image, mask, options);
    const victim = c.nodes.find((n) => n.id === c.cluster.ranked(job.jobId)[2].id)!;
    let progressed = 0;
    const fill = inpaintRemote(c.cluster, job, { maxNodes: 3, runTargets: 4_000, onProgress: () => progressed++ });
    // Kill the third member while it runs a Step of a run after the first one.
    for (;;) {
      const inFlight = metricValue(await victim.metrics(), 'patchwork_kernel_calls_in_flight');
      if (progressed > 0 && inFlight > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await victim.kill('SIGKILL');
    const r = await fill;
    assert.equal(r.result.id, await expected, 'the retried run changed the bytes');
    assert.ok(r.usage.attempts > r.usage.calls, `a member call failed and its run was tried again (calls ${r.usage.calls}, attempts ${r.usage.attempts})`);
  } finally {
    await c.close();
  }
});

test('a member that joined late asks for the announcement it missed: no hang, same tiles', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(2);
  try {
    const job = await c.job('team-late', image, mask, options);
    const ranked = c.cluster.ranked(job.jobId);
    const late = c.nodes.find((n) => n.id === ranked[1].id)!;
    const plan = (await c.cluster.prepare({ job }, { placementKey: job.jobId, rank: 0 })).response;
    const top = plan.levels.length - 1;
    const call = { placementKey: job.jobId, attempts: 1 };
    // Member 0 starts at once and announces its first step before the other node has the job
    // (it has not even prepared it: it does not follow the job's subject yet).
    const first = c.cluster.step(teamStep(job, top, 'late', 2, 0, top - 1), { ...call, rank: 0 });
    await new Promise((r) => setTimeout(r, 800));
    const second = c.cluster.step(teamStep(job, top, 'late', 2, 1, top - 1), { ...call, rank: 1 });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(b.node, late.id);
    assert.ok(late.log.some((l) => l.includes('asked for it again')), 'the late member asked again');
    // The same tiles as a team of one running the same range.
    const solo = (await c.cluster.step(teamStep(job, top, 'solo', 1, 0, top - 1), { ...call, rank: 0 })).response;
    assert.equal(a.response.reports.length, solo.reports.length);
    for (const [i, rep] of solo.reports.entries()) {
      const stored = [...a.response.reports[i].stored, ...b.response.reports[i].stored].sort((x, y) => x.tiles[0] - y.tiles[0]);
      assert.deepEqual(a.response.reports[i].results.map((x) => x.blobId), stored.map((x) => x.blobId), 'a member lists every tile, its own and its peer\'s');
      assert.deepEqual(await tilesOf(c, stored), await tilesOf(c, rep.stored), `step ${i}: same tile results`);
    }
  } finally {
    await c.close();
  }
});

test('the top level is peeled once per run: member 0 hands its initial state to the other members, same tiles', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(3, { env: { PATCHWORK_LOG_LEVEL: 'debug' } });
  try {
    const job = await c.job('team-peel-once', image, mask, options);
    const plan = (await c.cluster.prepare({ job }, { placementKey: job.jobId, rank: 0 })).response;
    const top = plan.levels.length - 1;
    const call = { placementKey: job.jobId, attempts: 1 };
    const members = await Promise.all([0, 1, 2].map((i) => c.cluster.step(teamStep(job, top, 'peel-once', 3, i, top - 1), { ...call, rank: i })));
    const from0 = (node: string): boolean => c.nodes.find((n) => n.id === node)!.log.some((l) => l.includes('initial state came from member 0'));
    assert.deepEqual(members.map((m) => from0(m.node)), [false, true, true], 'members 1 and 2 took member 0\'s initial state');
    const solo = (await c.cluster.step(teamStep(job, top, 'peel-solo', 1, 0, top - 1), { ...call, rank: 0 })).response;
    assert.equal(members[0].response.reports.length, solo.reports.length);
    for (const [i, rep] of solo.reports.entries()) {
      const stored = members.flatMap((m) => m.response.reports[i].stored).sort((x, y) => x.tiles[0] - y.tiles[0]);
      assert.deepEqual(await tilesOf(c, stored), await tilesOf(c, rep.stored), `step ${i}: same tile results as a team of one`);
    }
  } finally {
    await c.close();
  }
});

test('store_last_step_only: only the last step is stored; a late member gets the earlier batches from the members\' caches', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(2);
  try {
    const job = await c.job('team-last-only', image, mask, options);
    const plan = (await c.cluster.prepare({ job }, { placementKey: job.jobId, rank: 0 })).response;
    const top = plan.levels.length - 1;
    const call = { placementKey: job.jobId, attempts: 1 };
    // Member 0 runs its first step before the other node follows the job: member 1 must ask for
    // it, and its batches exist nowhere but in member 0's cache.
    const first = c.cluster.step(teamStep(job, top, 'last-only', 2, 0, top - 1, true), { ...call, rank: 0 });
    await new Promise((r) => setTimeout(r, 800));
    const second = c.cluster.step(teamStep(job, top, 'last-only', 2, 1, top - 1, true), { ...call, rank: 1 });
    const [a, b] = await Promise.all([first, second]);
    assert.ok(c.nodes.some((n) => n.log.some((l) => l.includes('asked for it again'))), 'the late member asked again');
    const steps = a.response.reports.length;
    assert.ok(steps > 2, `several steps: ${steps}`);
    for (const [i, rep] of a.response.reports.entries()) {
      const stored = [...rep.stored, ...b.response.reports[i].stored].sort((x, y) => x.tiles[0] - y.tiles[0]);
      if (i < steps - 1) {
        assert.deepEqual(stored, [], `step ${i} is not the last: nothing stored`);
        for (const ref of rep.results) assert.equal(await c.store.has(ref.blobId), false, `step ${i}'s batch ${ref.blobId} is not in the store`);
      } else {
        assert.deepEqual(rep.results.map((x) => x.blobId), stored.map((x) => x.blobId), 'the last step: every tile stored');
      }
    }
    // The same tiles as a team of one (which stores every step) running the same range.
    const solo = (await c.cluster.step(teamStep(job, top, 'last-only-solo', 1, 0, top - 1), { ...call, rank: 0 })).response;
    assert.equal(steps, solo.reports.length);
    const last = [...a.response.reports[steps - 1].stored, ...b.response.reports[steps - 1].stored].sort((x, y) => x.tiles[0] - y.tiles[0]);
    assert.deepEqual(await tilesOf(c, last), await tilesOf(c, solo.reports[steps - 1].stored), 'the last step: same tile results as a team of one');
  } finally {
    await c.close();
  }
});

/** The parts of a step report every member and a team of one agree on (not refs: batches differ by member). */
const stepOf = (r: StepReport): unknown => ({ level: r.level, iteration: r.iteration, mode: r.mode, changed: r.changed, converged: r.converged, startState: Buffer.from(r.startState).toString('hex') });

test('a peer that never comes: the member computes its share itself after the wait and finishes alone, same bytes, storing only its own', { timeout: 60_000 }, async () => {
  const c = await startTestCluster(1, { args: ['--team-wait-ms', '1500'] });
  try {
    const job = await c.job('team-alone', image, mask, options);
    const plan = (await c.cluster.prepare({ job }, { placementKey: job.jobId })).response;
    const top = plan.levels.length - 1;
    const call = { placementKey: job.jobId, attempts: 1 };
    const t0 = Date.now();
    const alone = (await c.cluster.step(teamStep(job, top, 'alone', 2, 0, top - 1), call)).response;
    const took = Date.now() - t0;
    assert.ok(took >= 1_400, `it waited for its peer first (${took} ms)`);
    assert.ok(took < 15_000, `and then did not wait at every step (${took} ms)`);
    assert.equal(c.nodes[0].log.filter((l) => l.includes('a peer is absent')).length, 1, 'one warning: the peer is absent for the rest of the run');
    // The same steps and tile bytes as a team of one running the same range.
    const solo = (await c.cluster.step(teamStep(job, top, 'alone-solo', 1, 0, top - 1), call)).response;
    assert.ok(solo.reports.length > 1, `several steps: ${solo.reports.length}`);
    assert.deepEqual(alone.reports.map(stepOf), solo.reports.map(stepOf), 'the same steps, changed pixels, convergence and start states');
    for (const [i, rep] of alone.reports.entries()) {
      const own = await tilesOf(c, rep.stored);
      const all = await tilesOf(c, solo.reports[i].stored);
      assert.ok(own.length > 0 && own.length < all.length, `step ${i}: stored only its own share (${own.length} of ${all.length} tiles)`);
      const ownTiles = new Set(own.map((t) => t.tile));
      assert.deepEqual(own, all.filter((t) => ownTiles.has(t.tile)), `step ${i}: its own tiles, byte for byte`);
      assert.deepEqual(rep.results, rep.stored, `step ${i}: it names only the results it knows (its own)`);
    }
  } finally {
    await c.close();
  }
});

test('double fault: member 0 answered, then its node was SIGKILLed; member 1 starts later elsewhere and finishes alone with the same bytes', { timeout: 120_000 }, async () => {
  const c = await startTestCluster(2, { args: ['--team-wait-ms', '1500'] });
  try {
    const job = await c.job('team-double-fault', image, mask, options);
    const ranked = c.cluster.ranked(job.jobId);
    const first = c.nodes.find((n) => n.id === ranked[0].id)!;
    const second = c.nodes.find((n) => n.id === ranked[1].id)!;
    const plan = (await c.cluster.prepare({ job }, { placementKey: job.jobId, rank: 0 })).response;
    const top = plan.levels.length - 1;
    const whole = (index: number): StepRequest => {
      const req = teamStep(job, top, 'double-fault', 2, index, 0);
      return { ...req, team: { ...req.team!, includeVote: true } };
    };
    // Member 0 runs the whole fill (as recorded by a job before its host crashed); the other node
    // has no call for the job yet, so it hears none of member 0's announcements.
    const a = await c.cluster.step(whole(0), { placementKey: job.jobId, attempts: 1, rank: 0 });
    assert.equal(a.node, first.id);
    await first.kill('SIGKILL');
    // Member 1 (the job's member run again after the crash) rejoins: nobody answers for member 0.
    const t0 = Date.now();
    const b = await c.cluster.step(whole(1), { placementKey: job.jobId, attempts: 1, rank: 1 });
    assert.equal(b.node, second.id);
    assert.ok(Date.now() - t0 < 60_000, 'it did not wait for the dead peer at every step');
    assert.ok(second.log.some((l) => l.includes('a peer is absent')), 'member 1 warned that member 0 is absent');
    assert.ok(b.response.reports.length > 2, `several steps: ${b.response.reports.length}`);
    assert.deepEqual(b.response.reports.map(stepOf), a.response.reports.map(stepOf), 'the members agree on every step');
    for (const [i, rep] of b.response.reports.entries()) {
      const ownTiles = rep.stored.flatMap((r) => r.tiles);
      const peerTiles = new Set(a.response.reports[i].stored.flatMap((r) => r.tiles));
      assert.ok(ownTiles.length > 0 && ownTiles.every((t) => !peerTiles.has(t)), `step ${i}: member 1 stored only its own share`);
    }
    // The union of both members' stored results (what the job records) gives the in-process PNG.
    const vote = b.response.reports.length - 1;
    const votes = [...a.response.reports[vote].stored, ...b.response.reports[vote].stored].sort((x, y) => x.tiles[0] - y.tiles[0]);
    const done = await c.cluster.finish({ job, votes, format: formatToWire('png'), state: Buffer.from(b.response.reports[vote].startState) }, { placementKey: job.jobId, attempts: 1, rank: 1 });
    assert.equal(done.node, second.id);
    assert.equal(done.response.result!.id, await expected, 'the fill differs from in-process');
  } finally {
    await c.close();
  }
});
