// The inpaint job end to end on real parts: nats-server, two `patchwork kernel` processes, the
// job runtime (host + job service) in this process. Results are byte-identical to `patchwork
// local` (the in-process kernel, same seed and options); cancel, pause/resume and accept work
// mid-job and leave a consistent history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { JobHistoryEntry, JobRuntime, JobView } from '../../src/actors/index.ts';
import { metricValue } from '../support/kernel-node.ts';
import { collectWatch, exampleCase, localResultId, startJobCluster, type ExampleCase, type JobTestCluster } from '../support/job-cluster.ts';
import { delay, waitFor } from '../support/actors.ts';
import { DEFAULT_OPTIONS } from '../../src/kernel/index.ts';

let c: JobTestCluster;
let rt: JobRuntime;
const tenant = 'tenant-a';

before(async () => {
  c = await startJobCluster({ nodes: 2 });
  rt = await c.runtime({ tenantRunningCap: 8 });
});
after(async () => {
  await c?.close();
});

async function submit(ex: ExampleCase, options: Record<string, unknown> = {}): Promise<JobView> {
  const image = await c.upload(rt.jobs, tenant, ex.image);
  const mask = await c.upload(rt.jobs, tenant, ex.mask);
  return rt.jobs.create(tenant, { imageId: image.id, maskId: mask.id, options });
}

async function allHistory(id: string): Promise<JobHistoryEntry[]> {
  const out: JobHistoryEntry[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await rt.jobs.history(tenant, id, { first: 40, after });
    out.push(...page.items);
    if (!page.hasNextPage) return out;
    after = page.endCursor;
  }
}

/** Kernel step calls answered by all nodes so far. */
async function callsInFlight(): Promise<number> {
  let n = 0;
  for (const node of c.nodes) n += metricValue(await node.metrics(), 'patchwork_kernel_calls_in_flight');
  return n;
}

async function stepCalls(): Promise<number> {
  let n = 0;
  for (const node of c.nodes) n += metricValue(await node.metrics(), 'patchwork_kernel_calls_total', { method: 'Step', code: 'OK' });
  return n;
}

function checkWatch(views: JobView[]): void {
  assert.ok(views.length >= 2, `a watch gives the state and its changes, got ${views.length} views`);
  for (let i = 1; i < views.length; i++) assert.ok(views[i].version > views[i - 1].version, `versions grow: ${views.map((v) => v.version).join(',')}`);
  for (const v of views.slice(0, -1)) assert.ok(!['COMPLETED', 'FAILED', 'CANCELED'].includes(v.status), 'only the last view is final');
  const previews = views.map((v) => v.preview?.id).filter((p): p is string => !!p);
  const firstSeen = new Map<string, number>();
  previews.forEach((p, i) => {
    if (!firstSeen.has(p)) firstSeen.set(p, i);
  });
  for (let i = 1; i < previews.length; i++) assert.ok(firstSeen.get(previews[i])! >= firstSeen.get(previews[i - 1])!, 'a preview never goes back to an older one: ' + views.map((v) => `${v.version}:${v.status}:${v.progress.toFixed(3)}:${v.preview?.id.slice(0, 4)}`).join(' '));
  for (let i = 1; i < views.length; i++) assert.ok(views[i].progress >= views[i - 1].progress, 'progress is monotone');
}

for (const [name, width, options] of [
  ['t009', 224, { seed: 5 }],
  ['t023', 224, { seed: 11, patchSize: 5 }],
  ['t067', undefined, { seed: 3 }],
] as const) {
  test(`${name}${width ? ` scaled to ${width} px` : ' full size'}: same bytes as patchwork local; watch, history, stats and blobs agree`, { timeout: 120_000 }, async () => {
    const ex = await exampleCase(name, width);
    const expected = localResultId(ex, options);
    const created = await submit(ex, options);
    assert.equal(created.tenant, tenant);
    assert.ok(['QUEUED', 'RUNNING'].includes(created.status));
    const defaults: Record<string, unknown> = { patchSize: DEFAULT_OPTIONS.patchSize, seed: 1, maxIterations: 10, distance: 'cie76' };
    assert.deepEqual(created.options, { ...defaults, ...options });
    const views = await collectWatch(rt.jobs, tenant, created.id);
    checkWatch(views);
    const final = views[views.length - 1];
    assert.equal(final.status, 'COMPLETED', JSON.stringify(final.error));
    assert.equal(final.result?.id, await expected, 'cluster result differs from patchwork local');
    const meta = await sharp(await c.store.get(final.result!.id)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', final.image.width, final.image.height]);
    assert.equal(final.result!.contentType, 'image/png');
    assert.ok(final.preview, 'a preview was shown');
    assert.ok(await rt.jobs.ownsBlob(tenant, final.result!.id));
    assert.ok(await rt.jobs.ownsBlob(tenant, final.preview!.id));
    assert.equal(await rt.jobs.ownsBlob('tenant-b', final.result!.id), false);

    // The index (get) and the history (watch) give the same final view.
    const got = await rt.jobs.get(tenant, created.id);
    assert.equal(got?.version, final.version);
    assert.equal(got?.status, 'COMPLETED');
    assert.equal(got?.result?.id, final.result!.id);
    assert.equal(got?.progress, 1);

    const history = await allHistory(created.id);
    assert.equal(history[0].type, 'Started');
    assert.equal(history[history.length - 1].type, 'Completed');
    assert.deepEqual(
      history.map((h) => h.seq),
      history.map((_, i) => i + 1),
    );
    assert.ok(!history.some((h) => h.type === 'ActivityFailed'), history.filter((h) => h.type === 'ActivityFailed').map((h) => h.summary).join('\n'));
    assert.equal(history.filter((h) => h.summary.startsWith('kernel.finish')).length, 1);
    assert.equal(final.stats.events, history.length, 'stats.events counts the history');
    assert.ok(final.stats.kernelCalls >= 4 && final.stats.kernelCpuMs > 0 && final.stats.blobBytes > 0, JSON.stringify(final.stats));
  });
}

test('cancel mid-job: CANCELED with the last preview kept, slot released, no kernel work after the cancel', { timeout: 120_000 }, async () => {
  const ex = await exampleCase('t067');
  const job = await submit(ex, { seed: 21 });
  const seen = await waitFor('a preview', async () => {
    const v = await rt.jobs.get(tenant, job.id);
    return v?.preview ? v : undefined;
  }, 60_000, 10);
  assert.equal(seen.status, 'RUNNING', 'the job must still run when canceled');
  const canceled = await rt.jobs.cancel(tenant, job.id);
  assert.equal(canceled.status, 'CANCELED');
  assert.equal(canceled.error, null);
  assert.ok(canceled.preview, 'the last preview is kept');
  assert.equal(canceled.result, null);
  await assert.rejects(rt.jobs.cancel(tenant, job.id), { code: 'JOB_FINISHED' });

  const history = await allHistory(job.id);
  const at = history.findIndex((h) => h.type === 'CancelRequested');
  assert.ok(at > 0, 'the cancel is in the history');
  assert.equal(history[history.length - 1].type, 'Canceled');
  const afterCancel = history.slice(at + 1).filter((h) => h.type === 'ActivityCompleted');
  assert.deepEqual(
    afterCancel.map((h) => h.summary.split(':')[0]),
    ['job.release'],
    'after the cancel only the slot is released',
  );
  assert.ok(!history.some((h) => h.type === 'Completed'));
  assert.ok(!(await rt.jobs.ownsBlob(tenant, 'f'.repeat(64))));
});

test('pause holds all kernel work (durably recorded), resume finishes with the same bytes', { timeout: 120_000 }, async () => {
  const ex = await exampleCase('t067');
  const options = { seed: 8 };
  const expected = localResultId(ex, options);
  const job = await submit(ex, options);
  await waitFor('level progress', async () => ((await rt.jobs.get(tenant, job.id))?.level != null ? true : undefined), 60_000, 10);
  const paused = await rt.jobs.pause(tenant, job.id);
  assert.equal(paused.status, 'PAUSED');
  // Calls already running when the pause came finish (a team run goes on to its end: up to a
  // sixth of the fill), and their answers are recorded (with the preview of the step they
  // completed: the picture a paused client looks at); no step starts after.
  await delay(600);
  let seen = -1;
  await waitFor(
    'the calls running at the pause to finish and be recorded',
    async () => {
      const n = (await allHistory(job.id)).length;
      const quiet = (await callsInFlight()) === 0 && n === seen;
      seen = n;
      return quiet ? true : undefined;
    },
    30_000,
    300,
  );
  const calls = await stepCalls();
  assert.ok(calls > 0, 'the node metrics count step calls');
  const events = (await allHistory(job.id)).length;
  await delay(1_500);
  assert.equal(await stepCalls(), calls, 'no kernel step ran while paused');
  assert.equal((await allHistory(job.id)).length, events, 'nothing happened while paused');
  assert.equal((await rt.jobs.get(tenant, job.id))?.status, 'PAUSED');
  assert.equal((await rt.jobs.pause(tenant, job.id)).status, 'PAUSED', 'pausing twice is harmless');

  const resumed = await rt.jobs.resume(tenant, job.id);
  assert.notEqual(resumed.status, 'PAUSED');
  const views = await collectWatch(rt.jobs, tenant, job.id);
  const final = views[views.length - 1];
  assert.equal(final.status, 'COMPLETED');
  assert.equal(final.result?.id, await expected, 'a pause does not change the output');
  const history = await allHistory(job.id);
  const controls = history.filter((h) => h.type === 'EventRaised').map((h) => h.summary);
  assert.deepEqual(controls, ["event 'control': pause", "event 'control': pause", "event 'control': resume"]);
  const phases = history.filter((h) => h.type === 'StatusSet' && /status: (paused|running)/.test(h.summary)).map((h) => h.summary.split(',')[0]);
  assert.deepEqual(phases, ['status: running', 'status: paused', 'status: running']);
});

test('accept mid-job: the current picture becomes the full-size result at once', { timeout: 120_000 }, async () => {
  const ex = await exampleCase('t067');
  const options = { seed: 13 };
  const converged = localResultId(ex, options);
  const job = await submit(ex, options);
  const seen = await waitFor('a preview', async () => {
    const v = await rt.jobs.get(tenant, job.id);
    return v?.preview ? v : undefined;
  }, 60_000, 10);
  assert.equal(seen.status, 'RUNNING');
  const accepted = await rt.jobs.accept(tenant, job.id);
  assert.equal(accepted.status, 'COMPLETED');
  assert.ok(accepted.result);
  const png = await c.store.get(accepted.result.id);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 512, 320]);
  assert.notEqual(accepted.result.id, await converged, 'an accepted picture is the one the job had, not the converged result');
  assert.ok(await rt.jobs.ownsBlob(tenant, accepted.result.id));

  const history = await allHistory(job.id);
  const at = history.findIndex((h) => h.type === 'EventRaised' && h.summary.endsWith('accept'));
  assert.ok(at > 0);
  const tail = history.slice(at + 1);
  assert.ok(tail.some((h) => h.type === 'StatusSet' && h.summary.includes('accept requested')));
  assert.ok(tail.some((h) => h.summary.startsWith('kernel.preview') && h.summary.includes(accepted.result!.id.slice(0, 12))), 'the result is a picture of the last complete step');
  assert.ok(!history.some((h) => h.summary.startsWith('kernel.finish')), 'an accepted job skips the final vote');
  assert.equal(history[history.length - 1].type, 'Completed');
  assert.ok(history[history.length - 1].summary.includes('accepted early'));
});

/** Runs t009 at 224 px on `jobRt` to the end: its final view and history (same bytes as patchwork local). */
async function runToEnd(jobRt: JobRuntime, seed: number): Promise<{ final: JobView; history: JobHistoryEntry[] }> {
  const ex = await exampleCase('t009', 224);
  const options = { seed };
  const expected = localResultId(ex, options);
  const image = await c.upload(jobRt.jobs, tenant, ex.image);
  const mask = await c.upload(jobRt.jobs, tenant, ex.mask);
  const created = await jobRt.jobs.create(tenant, { imageId: image.id, maskId: mask.id, options });
  const views = await collectWatch(jobRt.jobs, tenant, created.id);
  checkWatch(views);
  const final = views[views.length - 1];
  assert.equal(final.status, 'COMPLETED', JSON.stringify(final.error));
  assert.equal(final.result?.id, await expected, 'the result differs from patchwork local');
  const history: JobHistoryEntry[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await jobRt.jobs.history(tenant, created.id, { first: 40, after });
    history.push(...page.items);
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  assert.equal(history[history.length - 1].type, 'Completed');
  assert.ok(!history.some((h) => h.type === 'ActivityFailed'), history.filter((h) => h.type === 'ActivityFailed').map((h) => h.summary).join('\n'));
  return { final, history };
}

const stepsOf = (history: JobHistoryEntry[]): JobHistoryEntry[] => history.filter((h) => h.type === 'ActivityCompleted' && h.summary.startsWith('kernel.step'));

test('the default fill runs team runs: member calls in pairs, each answering several steps down to level 0', { timeout: 120_000 }, async () => {
  const { history } = await runToEnd(rt, 7);
  // Both nodes take part in every run (member calls come in pairs), and the members of the last
  // run each answer for several steps down to level 0 (the client-driven path has at most one
  // such call: its continue run of the unsplit levels, on one node).
  const steps = stepsOf(history);
  assert.ok(steps.length >= 2 && steps.length % 2 === 0, `team member calls: ${steps.map((h) => h.summary).join('\n')}`);
  const toLevel0 = steps.filter((h) => /\d+ steps, level \d+ it \d+ → level 0 /.test(h.summary));
  assert.ok(toLevel0.length >= 2, `member calls that ran several steps down to level 0: ${steps.map((h) => h.summary).join('\n')}`);
});

test('team runs store only each run\'s last step by default: same bytes as storing every step, fewer blob bytes', { timeout: 120_000 }, async () => {
  const everyRt = await c.runtime({ tenantRunningCap: 8, fill: { teamStoreLastStepOnly: false } });
  // runToEnd checks both results against patchwork local.
  const last = (await runToEnd(rt, 9)).final;
  const every = (await runToEnd(everyRt, 9)).final;
  assert.ok(last.stats.blobBytes < every.stats.blobBytes, `blob bytes: last step only ${last.stats.blobBytes}, every step ${every.stats.blobBytes}`);
});

test('with the client-driven steps (settings.teamRuns false, every level split): same bytes, a call per chunk and step', { timeout: 120_000 }, async () => {
  const stepsRt = await c.runtime({ tenantRunningCap: 8, fill: { teamRuns: false, minShardTargets: 100, soloMaxTargets: 0 } });
  const team = stepsOf((await runToEnd(rt, 8)).history).length;
  const { history } = await runToEnd(stepsRt, 8);
  const steps = stepsOf(history);
  assert.ok(steps.length > team, `client-driven step calls ${steps.length}, team member calls ${team}`);
});
