// The gateway's HTTP and GraphQL layer over real HTTP and WebSocket, with a real nats-server for
// the blob store and the in-memory job service (test/support/memory-job-service.ts) standing in
// for jobs: uploads, blobs, auth, limits, error shapes, subscription fan-out and coalescing,
// probes, drain. The same behaviours against the real job service: test/integration/gateway*.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { BlobStore } from '../../src/common/blob-store.ts';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import { createGateway, loadGatewayConfig, type Gateway, type GatewayConfigInput } from '../../src/gateway/index.ts';
import { discMask, texturedImage } from '../support/images.ts';
import { codes, download, gql, png, record, upload, wsClient } from '../support/gateway-client.ts';
import { MemoryJobService } from '../support/memory-job-service.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { rawRequest } from '../support/raw-http.ts';
import { testLogger, uniqueNamespace } from '../support/actors.ts';

const TOKEN_A = 'token-aaaaaaaa';
const TOKEN_B = 'token-bbbbbbbb';

let nats: NatsServer;
let nc: NatsConnection;
let blobs: BlobStore;

before(async () => {
  nats = await startNatsServer();
  nc = await connectNats({ servers: nats.url });
  blobs = await BlobStore.open(nc, { bucket: `${uniqueNamespace()}_blobs`, storage: 'memory' });
});
after(async () => {
  await nc?.close();
  await nats?.dispose();
});

async function start(overrides: GatewayConfigInput = {}, jobs = new MemoryJobService(), health = { nats: true, kernelNodes: 1 }) {
  const config = loadGatewayConfig({}, { port: 0, host: '127.0.0.1', tokens: `${TOKEN_A}=alice,${TOKEN_B}=bob`, webDir: '/nonexistent', ...overrides });
  const gw = await createGateway({ jobs, blobs, kernelNodes: async () => [], health: async () => health, logger: testLogger() }, config);
  const { url } = await gw.listen();
  return { gw, url, jobs };
}

async function withGateway(fn: (ctx: { gw: Gateway; url: string; jobs: MemoryJobService }) => Promise<void>, overrides: GatewayConfigInput = {}) {
  const ctx = await start(overrides);
  try {
    await fn(ctx);
  } finally {
    await ctx.gw.stop();
  }
}

const image = texturedImage(64, 48);
const mask = discMask(64, 48, 30, 24, 8);

const CREATE = `mutation($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { id status options { patchSize distance } image { id url width height contentType } } }`;
const WATCH = `subscription($id: ID!) { jobUpdates(id: $id) { id status progress version } }`;

describe('uploads', () => {
  test('PNG, JPEG and WebP are stored and answered with id, size, type and url', async () => {
    await withGateway(async ({ url, jobs }) => {
      const raw = { raw: { width: 64, height: 48, channels: 4 as const } };
      for (const [type, bytes] of [
        ['image/png', await png(image)],
        ['image/jpeg', await sharp(Buffer.from(image.data), raw).jpeg().toBuffer()],
        ['image/webp', await sharp(Buffer.from(image.data), raw).webp().toBuffer()],
      ] as const) {
        // The declared type is a hint only: the bytes decide.
        const r = await upload(url, bytes, TOKEN_A, 'application/octet-stream');
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.body.contentType, type);
        assert.equal(r.body.width, 64);
        assert.equal(r.body.height, 48);
        assert.match(r.body.id!, /^[0-9a-f]{64}$/);
        assert.equal(r.body.url, `/blobs/${r.body.id}`);
        assert.deepEqual(await jobs.getUpload('alice', r.body.id!), { id: r.body.id, width: 64, height: 48, contentType: type });
        assert.equal(await jobs.getUpload('bob', r.body.id!), null);
      }
    });
  });

  test('a JPEG turned by EXIF orientation reports its upright size (as the kernel decodes it)', async () => {
    await withGateway(async ({ url }) => {
      const turned = await sharp(Buffer.from(image.data), { raw: { width: 64, height: 48, channels: 4 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
      const r = await upload(url, turned, TOKEN_A, 'image/jpeg');
      assert.equal(r.status, 201);
      assert.deepEqual([r.body.width, r.body.height], [48, 64]);
    });
  });

  test('what is not a PNG, JPEG or WebP is refused by its bytes', async () => {
    await withGateway(async ({ url }) => {
      const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).gif().toBuffer();
      const text = Buffer.from('hello, this is not an image at all');
      for (const [bytes, declared] of [
        [gif, 'image/png'],
        [text, 'image/png'],
      ] as const) {
        const r = await upload(url, bytes, TOKEN_A, declared);
        assert.equal(r.status, 415);
        assert.equal(r.body.error?.code, 'UNSUPPORTED_MEDIA_TYPE');
      }
      const declaredText = await upload(url, await png(image), TOKEN_A, 'text/plain');
      assert.equal(declaredText.status, 415);
      const empty = await upload(url, new Uint8Array(0), TOKEN_A);
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error?.code, 'BAD_USER_INPUT');
      assert.equal(empty.body.error?.reason, 'EMPTY_BODY');
    });
  });

  test('truncated images and huge pixel counts are refused before they reach a job', async () => {
    await withGateway(async ({ url }) => {
      const good = await png(image);
      const truncated = await upload(url, good.subarray(0, good.length - 40), TOKEN_A);
      assert.equal(truncated.status, 400);
      assert.equal(truncated.body.error?.reason, 'BAD_IMAGE');
      const claims = Buffer.from(good);
      claims.writeUInt32BE(100_000, 16);
      claims.writeUInt32BE(100_000, 20);
      const huge = await upload(url, claims, TOKEN_A);
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error?.code, 'PAYLOAD_TOO_LARGE');
      assert.equal(huge.body.error?.reason, 'TOO_MANY_PIXELS');
    });
  });

  test('a body over the byte cap gets 413 without being read to the end', async () => {
    await withGateway(
      async ({ url }) => {
        const big = Buffer.concat([await png(image), Buffer.alloc(300_000)]);
        const r = await upload(url, big, TOKEN_A);
        assert.equal(r.status, 413);
        assert.equal(r.body.error?.code, 'PAYLOAD_TOO_LARGE');
        // Streamed without a length (chunked): refused once the cap is passed.
        const port = Number(new URL(url).port);
        const answer = await rawRequest(port, (sock) => {
          sock.write(`POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN_A}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n`);
          const chunk = Buffer.alloc(64 * 1024, 0);
          chunk.set(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
          for (let i = 0; i < 8; i++) {
            sock.write(`${chunk.length.toString(16)}\r\n`);
            sock.write(chunk);
            sock.write('\r\n');
          }
        });
        assert.match(answer, /^HTTP\/1\.1 413/);
        assert.match(answer, /PAYLOAD_TOO_LARGE/);
      },
      { maxUploadBytes: 200_000 },
    );
  });

  test('an upload that stalls gets 408', async () => {
    await withGateway(
      async ({ url }) => {
        const port = Number(new URL(url).port);
        const answer = await rawRequest(port, (sock) => {
          sock.write(`POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN_A}\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\n`);
          sock.write(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]));
        });
        assert.match(answer, /^HTTP\/1\.1 408/);
        assert.match(answer, /REQUEST_TIMEOUT/);
      },
      { uploadTimeoutMs: 300 },
    );
  });
});

describe('blobs', () => {
  test('owner gets the bytes with ETag and immutable caching, 304 on If-None-Match; others get 404', async () => {
    await withGateway(async ({ url }) => {
      const bytes = await png(image);
      const up = await upload(url, bytes, TOKEN_A);
      const res = await download(url, up.body.url!, TOKEN_A);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('etag'), `"${up.body.id}"`);
      assert.equal(res.headers.get('cache-control'), 'private, max-age=31536000, immutable');
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      const again = await download(url, up.body.url!, TOKEN_A, { 'if-none-match': `"${up.body.id}"` });
      assert.equal(again.status, 304);
      const other = await download(url, up.body.url!, TOKEN_B);
      assert.equal(other.status, 404);
      assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
      const anonymous = await download(url, up.body.url!);
      assert.equal(anonymous.status, 401);
    });
  });

  test('path tricks never read anything', async () => {
    await withGateway(async ({ url }) => {
      const port = Number(new URL(url).port);
      for (const path of ['/blobs/..%2F..%2Fetc%2Fpasswd', '/blobs/%2e%2e', '/blobs/ABCDEF', `/blobs/${'g'.repeat(64)}`, '/blobs/..', '/blobs/../package.json', '/blobs/%00', `/blobs/${'a'.repeat(64)}%2F..`]) {
        const answer = await rawRequest(port, (sock) => sock.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN_A}\r\nConnection: close\r\n\r\n`));
        assert.match(answer, /^HTTP\/1\.1 (400|404)/, `${path}: ${answer.slice(0, 80)}`);
        assert.doesNotMatch(answer, /"name": "patchwork"|root:/);
      }
    });
  });
});

describe('GraphQL', () => {
  test('auth: no token and a wrong token are UNAUTHENTICATED on HTTP and WebSocket', async () => {
    await withGateway(async ({ url }) => {
      const none = await gql(url, '{ kernelNodes { id } }');
      assert.equal(none.status, 401);
      assert.deepEqual(codes(none), ['UNAUTHENTICATED']);
      const wrong = await gql(url, '{ kernelNodes { id } }', {}, 'token-wrongwrong');
      assert.deepEqual(codes(wrong), ['UNAUTHENTICATED']);
      const ok = await gql(url, '{ kernelNodes { id } }', {}, TOKEN_A);
      assert.equal(ok.status, 200);
      const client = wsClient(url, 'token-wrongwrong');
      const sub = record(client, WATCH, { id: 'x' });
      await sub.done;
      client.dispose();
      const err = sub.errors[0] as { code?: number; reason?: string };
      assert.equal(err.code, 4401);
      assert.match(String(err.reason), /UNAUTHENTICATED/);
    });
  });

  test('job errors map to codes: NOT_FOUND, BAD_USER_INPUT with the kernel reason', async () => {
    await withGateway(async ({ url }) => {
      const img = await upload(url, await png(image), TOKEN_A);
      const small = await upload(url, await png(discMask(32, 24, 10, 10, 4)), TOKEN_A);
      const mismatch = await gql(url, CREATE, { input: { imageId: img.body.id, maskId: small.body.id } }, TOKEN_A);
      assert.deepEqual(codes(mismatch), ['BAD_USER_INPUT']);
      assert.equal(mismatch.errors![0].extensions!.reason, 'BAD_MASK_SIZE');
      assert.equal(mismatch.errors![0].extensions!.stacktrace, undefined);
      const missing = await gql(url, '{ job(id: "nope") { id } }', {}, TOKEN_A);
      assert.deepEqual(codes(missing), ['NOT_FOUND']);
      const cancel = await gql(url, 'mutation { cancelJob(id: "nope") { id } }', {}, TOKEN_A);
      assert.deepEqual(codes(cancel), ['NOT_FOUND']);
      const badPage = await gql(url, '{ jobs(first: 1000) { nodes { id } } }', {}, TOKEN_A);
      assert.deepEqual(codes(badPage), ['BAD_USER_INPUT']);
    });
  });

  test('enums map both ways, idempotencyKey returns the same job, tenants are isolated', async () => {
    await withGateway(async ({ url }) => {
      const img = await upload(url, await png(image), TOKEN_A);
      const m = await upload(url, await png(mask), TOKEN_A);
      const input = { imageId: img.body.id, maskId: m.body.id, options: { distance: 'CIE2000', patchSize: 9 }, idempotencyKey: 'k1' };
      const a = await gql<{ createInpaintJob: { id: string; options: { distance: string; patchSize: number }; image: { url: string } } }>(url, CREATE, { input }, TOKEN_A);
      assert.equal(a.data!.createInpaintJob.options.distance, 'CIE2000');
      assert.equal(a.data!.createInpaintJob.options.patchSize, 9);
      assert.equal(a.data!.createInpaintJob.image.url, `/blobs/${img.body.id}`);
      const again = await gql<{ createInpaintJob: { id: string } }>(url, CREATE, { input }, TOKEN_A);
      assert.equal(again.data!.createInpaintJob.id, a.data!.createInpaintJob.id);
      const id = a.data!.createInpaintJob.id;
      // Bob cannot see, list, touch or watch Alice's job, nor use her uploads.
      assert.deepEqual(codes(await gql(url, `{ job(id: "${id}") { id } }`, {}, TOKEN_B)), ['NOT_FOUND']);
      assert.deepEqual(codes(await gql(url, `mutation { cancelJob(id: "${id}") { id } }`, {}, TOKEN_B)), ['NOT_FOUND']);
      const bobList = await gql<{ jobs: { nodes: unknown[] } }>(url, '{ jobs { nodes { id } } }', {}, TOKEN_B);
      assert.equal(bobList.data!.jobs.nodes.length, 0);
      assert.deepEqual(codes(await gql(url, CREATE, { input: { imageId: img.body.id, maskId: m.body.id } }, TOKEN_B)), ['NOT_FOUND']);
      const client = wsClient(url, TOKEN_B);
      const sub = record(client, WATCH, { id });
      await sub.done;
      client.dispose();
      assert.equal(sub.values.length, 0);
      assert.equal((sub.errors[0] as { extensions: { code: string } }).extensions.code, 'NOT_FOUND');
      const aliceList = await gql<{ jobs: { nodes: Array<{ id: string }>; edges: Array<{ cursor: string | null }> } }>(url, '{ jobs { nodes { id } edges { cursor } } }', {}, TOKEN_A);
      assert.deepEqual(aliceList.data!.jobs.nodes.map((n) => n.id), [id]);
    });
  });

  test('limits: depth, cost, body size, malformed requests, rate', async () => {
    await withGateway(
      async ({ url }) => {
        const deep = await gql(url, '{ jobs { edges { node { history { nodes { seq } } } } } }', {}, TOKEN_A);
        assert.deepEqual(codes(deep), ['BAD_USER_INPUT']);
        assert.equal(deep.errors![0].extensions!.reason, 'QUERY_TOO_DEEP');
        const costly = await gql(url, '{ jobs(first: 100) { nodes { history(first: 100) { nodes { seq type time summary } } } } }', {}, TOKEN_A);
        assert.equal(costly.errors![0].extensions!.reason, 'QUERY_TOO_COSTLY');
        const parse = await gql(url, '{ jobs { nodes { id }', {}, TOKEN_A);
        assert.deepEqual(codes(parse), ['BAD_USER_INPUT']);
        assert.equal(parse.errors![0].extensions!.reason, 'GRAPHQL_PARSE_FAILED');
        const unknownField = await gql(url, '{ nope }', {}, TOKEN_A);
        assert.deepEqual(codes(unknownField), ['BAD_USER_INPUT']);
        const huge = await gql(url, '{ kernelNodes { id } }', { blob: 'x'.repeat(300_000) }, TOKEN_A);
        assert.equal(huge.status, 413);
        assert.deepEqual(codes(huge), ['PAYLOAD_TOO_LARGE']);
        const overHttp = await gql(url, WATCH, { id: 'x' }, TOKEN_A);
        assert.deepEqual(codes(overHttp), ['BAD_USER_INPUT']);
        assert.equal(overHttp.errors![0].extensions!.reason, 'SUBSCRIPTION_OVER_HTTP');
        const malformed = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN_A}` }, body: '{"query": ' });
        assert.equal(malformed.status, 400);
        assert.equal(((await malformed.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code, 'BAD_USER_INPUT');
        // Rate: burst 30 — the 31st request in a row is RATE_LIMITED, for this tenant only.
        let limited = 0;
        for (let i = 0; i < 40; i++) if (codes(await gql(url, '{ kernelNodes { id } }', {}, TOKEN_A)).includes('RATE_LIMITED')) limited++;
        assert.ok(limited >= 1, 'rate limit reached');
        assert.deepEqual(codes(await gql(url, '{ kernelNodes { id } }', {}, TOKEN_B)), []);
      },
      { maxQueryDepth: 5, maxRequestBytes: 100_000, rateLimitBurst: 30, rateLimitPerSecond: 1 },
    );
  });

  test('production hides internal messages and stack traces', async () => {
    const jobs = new MemoryJobService();
    jobs.get = async () => {
      throw new Error('secret detail of a bug');
    };
    const { gw, url } = await start({ production: true }, jobs);
    try {
      const r = await gql(url, '{ job(id: "x") { id } }', {}, TOKEN_A);
      assert.deepEqual(codes(r), ['INTERNAL_SERVER_ERROR']);
      assert.equal(r.errors![0].message, 'Internal server error');
      assert.doesNotMatch(JSON.stringify(r), /secret|stacktrace|at /);
    } finally {
      await gw.stop();
    }
  });
});

describe('subscriptions', () => {
  test('many subscribers share one upstream watch; slow ones coalesce; all get the final state', async () => {
    await withGateway(async ({ url, jobs, gw }) => {
      const img = await upload(url, await png(image), TOKEN_A);
      const m = await upload(url, await png(mask), TOKEN_A);
      const created = await gql<{ createInpaintJob: { id: string } }>(url, CREATE, { input: { imageId: img.body.id, maskId: m.body.id } }, TOKEN_A);
      const id = created.data!.createInpaintJob.id;
      const clients = Array.from({ length: 5 }, () => wsClient(url, TOKEN_A));
      const subs = clients.map((c) => record<{ jobUpdates: { status: string; version: number; progress: number } }>(c, WATCH, { id }));
      while (gw.hub.subscriberCount < 5) await new Promise((r) => setTimeout(r, 10));
      assert.equal(jobs.watchCount, 1);
      for (let i = 1; i <= 50; i++) jobs.update(id, { status: 'RUNNING', progress: i / 100 });
      jobs.update(id, { status: 'COMPLETED', progress: 1 });
      await Promise.all(subs.map((s) => s.done));
      for (const s of subs) {
        assert.deepEqual(s.errors, []);
        const versions = s.values.map((v) => v.jobUpdates.version);
        assert.equal(versions[0], 1, 'current state first');
        assert.deepEqual(versions, [...versions].sort((a, b) => a - b), 'in order');
        assert.equal(s.values.at(-1)!.jobUpdates.status, 'COMPLETED');
      }
      assert.equal(jobs.watchCount, 1);
      // A late subscriber to a finished job gets its final state, then complete.
      const late = record<{ jobUpdates: { status: string } }>(clients[0], WATCH, { id });
      await late.done;
      assert.deepEqual(late.values.map((v) => v.jobUpdates.status), ['COMPLETED']);
      for (const c of clients) await c.dispose();
      assert.equal(gw.hub.subscriberCount, 0);
      assert.equal(gw.hub.feedCount, 0);
    });
  });

  test('each subscription gets its own selection set and id (frames built once per state); errors keep their code', async () => {
    await withGateway(async ({ url, jobs, gw }) => {
      const img = await upload(url, await png(image), TOKEN_A);
      const m = await upload(url, await png(mask), TOKEN_A);
      const id = (await gql<{ createInpaintJob: { id: string } }>(url, CREATE, { input: { imageId: img.body.id, maskId: m.body.id } }, TOKEN_A)).data!.createInpaintJob.id;
      // Two operations on one socket (ids 1 and 2 on the wire), a third on another, a fourth that
      // fails on every state (history(first: 0) is refused), handed back to graphql-ws to format.
      const one = wsClient(url, TOKEN_A);
      const two = wsClient(url, TOKEN_A);
      type Status = { jobUpdates: { id: string; status: string } };
      type Progress = { jobUpdates: { progress: number; v: number } };
      const statusSub = record<Status>(one, `subscription($id: ID!) { jobUpdates(id: $id) { id status } }`, { id });
      const progressSub = record<Progress>(one, `subscription($id: ID!) { jobUpdates(id: $id) { progress v: version } }`, { id });
      const sameAsFirst = record<Status>(two, `subscription($id: ID!) { jobUpdates(id: $id) { id status } }`, { id });
      const failing = record(two, `subscription($id: ID!) { jobUpdates(id: $id) { status history(first: 0) { nodes { seq } } } }`, { id });
      while (gw.hub.subscriberCount < 4) await new Promise((r) => setTimeout(r, 10));
      for (let i = 1; i <= 5; i++) jobs.update(id, { status: 'RUNNING', progress: i / 10 });
      jobs.update(id, { status: 'COMPLETED', progress: 1 });
      await Promise.all([statusSub.done, progressSub.done, sameAsFirst.done, failing.done]);
      for (const s of [statusSub, sameAsFirst]) {
        assert.deepEqual(s.errors, []);
        for (const v of s.values) assert.deepEqual(Object.keys(v.jobUpdates), ['id', 'status']);
        assert.equal(s.values[0].jobUpdates.id, id);
        assert.equal(s.values.at(-1)!.jobUpdates.status, 'COMPLETED');
      }
      assert.deepEqual(progressSub.errors, []);
      for (const v of progressSub.values) assert.deepEqual(Object.keys(v.jobUpdates), ['progress', 'v']);
      assert.equal(progressSub.values[0].jobUpdates.v, 1);
      assert.deepEqual(progressSub.values.at(-1)!.jobUpdates, { progress: 1, v: 7 });
      assert.deepEqual(failing.values, []);
      assert.ok(failing.errors.length >= 2, 'an error for the first state and for the final one');
      for (const e of failing.errors as Array<{ extensions?: { code?: string; reason?: string } }>) {
        assert.equal(e.extensions?.code, 'BAD_USER_INPUT');
        assert.equal(e.extensions?.reason, 'BAD_PAGE_SIZE');
      }
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const sent = statusSub.values.length + progressSub.values.length + sameAsFirst.values.length + failing.errors.length;
      assert.match(metrics, new RegExp(`patchwork_gateway_subscription_updates_total ${sent}\\b`));
      await one.dispose();
      await two.dispose();
    });
  });

  test('stop() closes WebSockets with 1001 and turns /readyz to 503 first', async () => {
    const { gw, url, jobs } = await start();
    const img = await upload(url, await png(image), TOKEN_A);
    const m = await upload(url, await png(mask), TOKEN_A);
    const id = (await gql<{ createInpaintJob: { id: string } }>(url, CREATE, { input: { imageId: img.body.id, maskId: m.body.id } }, TOKEN_A)).data!.createInpaintJob.id;
    const client = wsClient(url, TOKEN_A);
    const sub = record(client, WATCH, { id });
    while (gw.hub.subscriberCount < 1) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const stopped = gw.stop();
    assert.equal(gw.draining, true);
    await sub.done;
    await stopped;
    assert.equal((sub.errors[0] as { code: number }).code, 1001);
    assert.equal(jobs.views.get(id)!.status, 'QUEUED', 'draining does not touch jobs');
  });
});

describe('probes, metrics, pages', () => {
  test('/healthz, /readyz (NATS and kernel nodes), /metrics, GraphiQL without external loads', async () => {
    const down = await start({}, new MemoryJobService(), { nats: true, kernelNodes: 0 });
    try {
      assert.equal((await fetch(`${down.url}/healthz`)).status, 200);
      const r = await fetch(`${down.url}/readyz`);
      assert.equal(r.status, 503);
      assert.deepEqual(await r.json(), { ready: false, nats: true, kernelNodes: 0 });
      await gql(down.url, '{ kernelNodes { id } }', {}, TOKEN_A);
      const metrics = await (await fetch(`${down.url}/metrics`)).text();
      assert.match(metrics, /patchwork_gateway_graphql_duration_seconds_count\{operation="query",outcome="ok"\} 1/);
      assert.match(metrics, /patchwork_gateway_subscriptions 0/);
      const page = await fetch(`${down.url}/graphiql`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /YogaGraphiQL/);
      assert.doesNotMatch(html, /<(script|link)[^>]+(src|href)=["']?https?:/i);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.equal((await fetch(`${down.url}/`, { redirect: 'manual' })).headers.get('location'), '/graphiql');
    } finally {
      await down.gw.stop();
    }
    const prod = await start({ production: true });
    try {
      assert.equal((await fetch(`${prod.url}/graphiql`)).status, 404);
    } finally {
      await prod.gw.stop();
    }
  });
});
