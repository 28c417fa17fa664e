// The gateway end to end, against the real job service: `patchwork gateway` processes hosting job
// actors, `patchwork kernel` processes doing the work, a real nats-server; clients over real HTTP
// and WebSocket (graphql-ws createClient). Images are made in code, 64×48.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeImage, inpaint } from '../../src/kernel/index.ts';
import { discMask, rectMask, texturedImage } from '../support/images.ts';
import { codes, download, gql, png, record, upload, wsClient } from '../support/gateway-client.ts';
import { startStack, type Stack } from '../support/gateway-stack.ts';
import { metricValue } from '../support/kernel-node.ts';

const TOKEN_A = 'alice-token-0001';
const TOKEN_B = 'bob-token-000002';

const image = texturedImage(64, 48, 11);
const mask = discMask(64, 48, 34, 22, 7);

const JOB_FIELDS = 'id status progress level levels iteration version createdAt updatedAt image { id url width height contentType } mask { id } preview { id url } result { id url width height contentType } error { code message } stats { kernelCpuMs kernelCalls events blobBytes } options { patchSize seed maxIterations distance }';
const CREATE = `mutation($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { ${JOB_FIELDS} } }`;
const WATCH = `subscription($id: ID!) { jobUpdates(id: $id) { ${JOB_FIELDS} } }`;

interface Job {
  id: string;
  status: string;
  progress: number;
  version: number;
  preview: { id: string; url: string } | null;
  result: { id: string; url: string; width: number; height: number; contentType: string } | null;
  error: { code: string; message: string } | null;
  stats: { kernelCalls: number; events: number };
}

let stack: Stack;
let url: string;

before(async () => {
  stack = await startStack({ gateways: 2, kernels: 1, tokens: `${TOKEN_A}=alice,${TOKEN_B}=bob` });
  url = stack.gateways[0].url;
});
after(async () => {
  await stack?.close();
});

async function uploads(base: string, token: string, img = image, msk = mask): Promise<{ imageId: string; maskId: string }> {
  const i = await upload(base, await png(img), token);
  const m = await upload(base, await png(msk), token);
  assert.equal(i.status, 201, JSON.stringify(i.body));
  assert.equal(m.status, 201, JSON.stringify(m.body));
  return { imageId: i.body.id!, maskId: m.body.id! };
}

async function createJob(base: string, token: string, options: Record<string, unknown> = { seed: 5 }): Promise<Job> {
  const ids = await uploads(base, token);
  const r = await gql<{ createInpaintJob: Job }>(base, CREATE, { input: { ...ids, options } }, token);
  assert.deepEqual(r.errors ?? [], []);
  return r.data!.createInpaintJob;
}

async function follow(base: string, token: string, id: string) {
  const client = wsClient(base, token);
  const sub = record<{ jobUpdates: Job }>(client, WATCH, { id });
  await sub.done;
  await client.dispose();
  return sub;
}

describe('full flow', () => {
  test('upload → create → subscribe → result: the bytes the in-process kernel makes for the same seed', async () => {
    const job = await createJob(url, TOKEN_A, { seed: 5 });
    assert.ok(['QUEUED', 'RUNNING'].includes(job.status));
    const sub = await follow(url, TOKEN_A, job.id);
    assert.deepEqual(sub.errors, []);
    const states = sub.values.map((v) => v.jobUpdates);
    const last = states.at(-1)!;
    assert.equal(last.status, 'COMPLETED', JSON.stringify(last.error));
    for (let i = 1; i < states.length; i++) {
      assert.ok(states[i].version > states[i - 1].version, 'versions grow');
      assert.ok(states[i].progress >= states[i - 1].progress, 'progress never goes down');
    }
    assert.equal(last.progress, 1);
    assert.ok(states.some((s) => s.status === 'RUNNING'), 'seen running on the way');
    // Previews are rendered off the critical path within a time budget: a job this small may end
    // before one is ready. Any preview shown is the owner's to download.
    const preview = states.find((s) => s.preview)?.preview;
    if (preview) assert.equal((await download(url, preview.url, TOKEN_A)).status, 200);
    assert.ok(last.stats.kernelCalls > 0 && last.stats.events > 0);
    const res = await download(url, last.result!.url, TOKEN_A);
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const local = await encodeImage(await inpaint(image, mask, { seed: 5 }), 'png');
    assert.equal(last.result!.contentType, 'image/png');
    assert.ok(bytes.equals(local), 'result bytes equal the in-process kernel');
    // The history is there, oldest first.
    const h = await gql<{ job: { history: { nodes: Array<{ seq: number; type: string }> } } }>(url, `{ job(id: "${job.id}") { history(first: 100) { nodes { seq type time summary } } } }`, {}, TOKEN_A);
    assert.deepEqual(h.errors ?? [], []);
    const events = h.data!.job.history.nodes;
    assert.ok(events.length > 2);
    assert.deepEqual(events.map((e) => e.seq), [...events.map((e) => e.seq)].sort((a, b) => a - b));
    // Listing shows it.
    const list = await gql<{ jobs: { nodes: Array<{ id: string }> } }>(url, '{ jobs(first: 100, status: COMPLETED) { nodes { id } } }', {}, TOKEN_A);
    assert.ok(list.data!.jobs.nodes.some((n) => n.id === job.id));
  });

  test('kernelNodes lists the live kernel node', async () => {
    const r = await gql<{ kernelNodes: Array<{ id: string; address: string; capacity: number; workers: number }> }>(url, '{ kernelNodes { id address capacity workers inFlight version startedAt } }', {}, TOKEN_A);
    assert.deepEqual(r.data!.kernelNodes.map((n) => n.id), ['k0']);
    assert.match(r.data!.kernelNodes[0].address, /^127\.0\.0\.1:\d+$/);
  });

  test('idempotencyKey returns the same job', async () => {
    const ids = await uploads(url, TOKEN_A);
    const input = { ...ids, options: { seed: 2 }, idempotencyKey: 'same-key-1' };
    const a = await gql<{ createInpaintJob: Job }>(url, CREATE, { input }, TOKEN_A);
    const b = await gql<{ createInpaintJob: Job }>(stack.gateways[1].url, CREATE, { input }, TOKEN_A);
    assert.equal(a.data!.createInpaintJob.id, b.data!.createInpaintJob.id);
    await follow(url, TOKEN_A, a.data!.createInpaintJob.id);
  });
});

describe('error codes', () => {
  test('BAD_USER_INPUT with the kernel reason, NOT_FOUND, UNAUTHENTICATED, UNSUPPORTED_MEDIA_TYPE, PAYLOAD_TOO_LARGE', async () => {
    const ids = await uploads(url, TOKEN_A);
    const small = await upload(url, await png(rectMask(32, 24, 4, 4, 10, 10)), TOKEN_A);
    const sizeMismatch = await gql(url, CREATE, { input: { imageId: ids.imageId, maskId: small.body.id } }, TOKEN_A);
    assert.deepEqual(codes(sizeMismatch), ['BAD_USER_INPUT']);
    assert.equal(sizeMismatch.errors![0].extensions!.reason, 'BAD_MASK_SIZE');
    const badOption = await gql(url, CREATE, { input: { ...ids, options: { patchSize: 4 } } }, TOKEN_A);
    assert.deepEqual(codes(badOption), ['BAD_USER_INPUT']);
    assert.equal(badOption.errors![0].extensions!.reason, 'BAD_OPTION');
    const wrongType = await gql(url, CREATE, { input: { ...ids, options: { patchSize: 'seven' } } }, TOKEN_A);
    assert.deepEqual(codes(wrongType), ['BAD_USER_INPUT']);

    assert.deepEqual(codes(await gql(url, '{ job(id: "no-such-job") { id } }', {}, TOKEN_A)), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql(url, 'mutation { pauseJob(id: "no-such-job") { id } }', {}, TOKEN_A)), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql(url, CREATE, { input: { imageId: 'f'.repeat(64), maskId: ids.maskId } }, TOKEN_A)), ['NOT_FOUND']);

    const noToken = await gql(url, '{ jobs { nodes { id } } }');
    assert.equal(noToken.status, 401);
    assert.deepEqual(codes(noToken), ['UNAUTHENTICATED']);
    const client = wsClient(url, 'not-a-real-token');
    const sub = record(client, WATCH, { id: 'x' });
    await sub.done;
    await client.dispose();
    assert.equal((sub.errors[0] as { code: number }).code, 4401);

    const text = await upload(url, Buffer.from('GIF89a but really just text'), TOKEN_A, 'image/gif');
    assert.equal(text.status, 415);
    assert.equal(text.body.error!.code, 'UNSUPPORTED_MEDIA_TYPE');
    const big = await upload(url, Buffer.alloc(26 * 1024 * 1024, 1), TOKEN_A);
    assert.equal(big.status, 413);
    assert.equal(big.body.error!.code, 'PAYLOAD_TOO_LARGE');
  });

  test('RATE_LIMITED for the tenant over its rate; other tenants go on', async () => {
    const g = await stack.spawnGateway({ PATCHWORK_RATE_LIMIT_BURST: '5', PATCHWORK_RATE_LIMIT_PER_SECOND: '1' });
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(...codes(await gql(g.url, '{ kernelNodes { id } }', {}, TOKEN_A)));
    assert.ok(seen.includes('RATE_LIMITED'), seen.join(','));
    assert.deepEqual(codes(await gql(g.url, '{ kernelNodes { id } }', {}, TOKEN_B)), []);
  });
});

describe('tenants', () => {
  test('bob can neither see, list, touch, watch nor download what alice owns', async () => {
    const job = await createJob(url, TOKEN_A, { seed: 9 });
    const done = await follow(url, TOKEN_A, job.id);
    const final = done.values.at(-1)!.jobUpdates;
    assert.equal(final.status, 'COMPLETED');
    const q = await gql(url, `{ job(id: "${job.id}") { id } }`, {}, TOKEN_B);
    assert.deepEqual(codes(q), ['NOT_FOUND']);
    const list = await gql<{ jobs: { nodes: Array<{ id: string }> } }>(url, '{ jobs(first: 100) { nodes { id } } }', {}, TOKEN_B);
    assert.ok(!list.data!.jobs.nodes.some((n) => n.id === job.id));
    for (const m of ['cancelJob', 'pauseJob', 'resumeJob', 'acceptJob']) {
      assert.deepEqual(codes(await gql(url, `mutation { ${m}(id: "${job.id}") { id } }`, {}, TOKEN_B)), ['NOT_FOUND'], m);
    }
    const sub = await follow(stack.gateways[1].url, TOKEN_B, job.id);
    assert.equal(sub.values.length, 0);
    assert.equal((sub.errors[0] as { extensions: { code: string } }).extensions.code, 'NOT_FOUND');
    for (const blob of [final.result!.url, ...(final.preview ? [final.preview.url] : [])]) {
      assert.equal((await download(url, blob, TOKEN_B)).status, 404);
    }
    // Alice's uploads are not bob's to use either.
    const aliceUploads = await uploads(url, TOKEN_A);
    assert.deepEqual(codes(await gql(url, CREATE, { input: aliceUploads }, TOKEN_B)), ['NOT_FOUND']);
    assert.equal((await download(url, `/blobs/${aliceUploads.imageId}`, TOKEN_B)).status, 404);
    assert.equal((await download(url, `/blobs/${aliceUploads.imageId}`, TOKEN_A)).status, 200);
  });
});

describe('subscriptions across gateways', () => {
  test('a late subscriber on the other gateway gets the current state first, then the rest', async () => {
    const activities = async (base: string) => metricValue(await (await fetch(`${base}/metrics`)).text(), 'patchwork_job_activity_duration_seconds_count', { outcome: 'ok' });
    const before0 = await activities(url);
    const before1 = await activities(stack.gateways[1].url);
    const job = await createJob(url, TOKEN_A, { seed: 4, maxIterations: 20 });
    // Follow on gateway 0 until a few updates went by, then join late on gateway 1.
    const client0 = wsClient(url, TOKEN_A);
    let seenOn0 = 0;
    let resolveMid!: () => void;
    const mid = new Promise<void>((r) => (resolveMid = r));
    const early = record<{ jobUpdates: Job }>(client0, WATCH, { id: job.id }, () => {
      if (++seenOn0 === 3) resolveMid();
    });
    await Promise.race([mid, early.done]);
    const before = await gql<{ job: Job }>(url, `{ job(id: "${job.id}") { version status } }`, {}, TOKEN_A);
    const late = await follow(stack.gateways[1].url, TOKEN_A, job.id);
    await early.done;
    await client0.dispose();
    assert.deepEqual(late.errors, []);
    const lateStates = late.values.map((v) => v.jobUpdates);
    assert.ok(lateStates[0].version >= before.data!.job.version, 'first state is current, not the start of the history');
    assert.equal(lateStates.at(-1)!.status, 'COMPLETED');
    assert.equal(lateStates.at(-1)!.result!.id, early.values.at(-1)!.jobUpdates.result!.id);
    // The job ran on gateway 0's host (its activities are timed there); gateway 1 only served
    // the subscription, from the job's history in JetStream.
    const after0 = await activities(url);
    assert.ok(after0 > before0, `gateway 0 ran the job's activities (${before0} → ${after0})`);
    assert.equal(await activities(stack.gateways[1].url), before1);
    const m1 = await (await fetch(`${stack.gateways[1].url}/metrics`)).text();
    assert.ok(metricValue(m1, 'patchwork_jobs', { status: 'COMPLETED' }) >= 1);
    // After the end: a subscriber gets the final state and complete.
    const after = await follow(stack.gateways[1].url, TOKEN_A, job.id);
    assert.deepEqual(after.values.map((v) => v.jobUpdates.status), ['COMPLETED']);
  });

  test('SIGTERM drains a gateway: its subscribers are closed with 1001, its jobs finish on the other', async () => {
    const g = await stack.spawnGateway();
    const job = await createJob(g.url, TOKEN_A, { seed: 6, maxIterations: 20 });
    const client = wsClient(g.url, TOKEN_A);
    const sub = record<{ jobUpdates: Job }>(client, WATCH, { id: job.id });
    while (sub.values.length === 0) await new Promise((r) => setTimeout(r, 20));
    g.child.kill('SIGTERM');
    await sub.done;
    await client.dispose();
    const closed = sub.errors[0] as { code?: number };
    const finishedFirst = sub.values.at(-1)?.jobUpdates.status === 'COMPLETED';
    assert.ok(finishedFirst || closed?.code === 1001, `closed with ${JSON.stringify(closed)}`);
    assert.deepEqual(await g.exited, { code: 0, signal: null });
    // Another replica serves the job to the end.
    const rest = await follow(url, TOKEN_A, job.id);
    assert.equal(rest.values.at(-1)!.jobUpdates.status, 'COMPLETED');
  });
});

describe('failures', () => {
  test('NATS down: INTERNAL_SERVER_ERROR without internals, /readyz 503, no crash; back when NATS is back', async () => {
    await stack.nats.kill();
    try {
      const r = await gql(url, '{ jobs { nodes { id } } }', {}, TOKEN_A);
      assert.deepEqual(codes(r), ['INTERNAL_SERVER_ERROR']);
      assert.equal((await fetch(`${url}/readyz`)).status, 503);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      await stack.nats.restart();
    }
    const end = Date.now() + 20_000;
    while ((await fetch(`${url}/readyz`)).status !== 200 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.deepEqual(codes(await gql(url, '{ jobs { nodes { id } } }', {}, TOKEN_A)), []);
  });
});
