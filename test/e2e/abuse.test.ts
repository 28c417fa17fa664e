// The abuse suite (issue 9): hostile and broken input against the real stack — a nats-server,
// a `patchwork kernel` process and a `patchwork gateway` process hosting the job actors — over
// real HTTP, raw TCP and WebSocket. Every case checks three things:
//   1. the answer: HTTP status and `error.code` / `extensions.code` (and `reason`), or the
//      WebSocket close code;
//   2. no crash: after the case the gateway process still has the same PID and answers /healthz
//      (afterEach);
//   3. a good job keeps working: another tenant runs the same small job back to back for the whole
//      file, and every run must complete with bytes equal to the reference run made before any
//      abuse (the last test).
// The stack runs with small limits so the cases stay cheap: 2 MB uploads, 4 megapixels, a 2 s
// upload deadline, 5 subscriptions per connection, query depth 5; rate limits are out of the way.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { getIntrospectionQuery } from 'graphql';
import sharp from 'sharp';
import WebSocket from 'ws';
import { DEFAULT_OPTIONS, decodeImage, encodeImage, inpaint } from '../../src/kernel/index.ts';
import { animated, cmykJpeg, grayscalePng, jpegClaiming, png16, pngClaiming, pngWithTextBomb } from '../support/abuse-images.ts';
import { codes, download, gql, png, record, upload, wsClient, type GqlResult, type UploadResult } from '../support/gateway-client.ts';
import { startStack, type Stack } from '../support/gateway-stack.ts';
import { discMask, rectMask, texturedImage } from '../support/images.ts';
import { rawRequest } from '../support/raw-http.ts';

const ALICE = 'abuse-alice-token-01'; // the abuser
const BOB = 'abuse-bob-token-0002'; // another tenant
const CAROL = 'abuse-carol-token-03'; // runs the good job
const MB = 1024 * 1024;
const MAX_UPLOAD_BYTES = 2 * MB;
const MAX_PIXELS = 4_000_000;
const UPLOAD_TIMEOUT_MS = 2_000;
const MAX_SUBSCRIPTIONS = 5;

const JOB_FIELDS = 'id status progress error { code message } result { id url width height contentType }';
const CREATE = `mutation($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { ${JOB_FIELDS} } }`;
const WATCH = `subscription($id: ID!) { jobUpdates(id: $id) { ${JOB_FIELDS} } }`;

interface Job {
  id: string;
  status: string;
  progress: number;
  error: { code: string; message: string } | null;
  result: { id: string; url: string; width: number; height: number; contentType: string } | null;
}

let stack: Stack;
let url: string;
let port: number;
let gatewayPid: number;

// ---- the good job -----------------------------------------------------------------------------

const goodImage = texturedImage(64, 48, 21);
const goodMask = discMask(64, 48, 30, 22, 7);
const GOOD_OPTIONS = { seed: 3, maxIterations: 4 };

interface GoodRun {
  jobId: string | null;
  status: string;
  bytes: Buffer | null;
  error: string | null;
}

/** Upload, create, follow to the end over WebSocket, download: what a client does. */
async function runGoodJob(): Promise<GoodRun> {
  const i = await upload(url, await png(goodImage), CAROL);
  const m = await upload(url, await png(goodMask), CAROL);
  if (i.status !== 201 || m.status !== 201) return { jobId: null, status: 'UPLOAD_FAILED', bytes: null, error: JSON.stringify([i.body, m.body]) };
  const created = await gql<{ createInpaintJob: Job }>(url, CREATE, { input: { imageId: i.body.id, maskId: m.body.id, options: GOOD_OPTIONS } }, CAROL);
  if (!created.data) return { jobId: null, status: 'CREATE_FAILED', bytes: null, error: JSON.stringify(created.errors) };
  const jobId = created.data.createInpaintJob.id;
  const final = await follow(CAROL, jobId);
  if (final?.status !== 'COMPLETED' || !final.result) return { jobId, status: final?.status ?? 'NO_STATE', bytes: null, error: JSON.stringify(final?.error ?? null) };
  const res = await download(url, final.result.url, CAROL);
  return { jobId, status: final.status, bytes: Buffer.from(await res.arrayBuffer()), error: res.status === 200 ? null : `download ${res.status}` };
}

/** Runs the good job again and again until stopped; one run is always in flight. */
function goodJobLoop(): { runs: GoodRun[]; stop(): Promise<GoodRun[]> } {
  const runs: GoodRun[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        runs.push(await runGoodJob());
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        runs.push({ jobId: null, status: 'THREW', bytes: null, error: `${String(err)} (${cause?.code ?? ''} ${cause?.message ?? ''}) at ${new Date().toISOString()} during '${currentTest}'` });
      }
    }
  })();
  return {
    runs,
    async stop() {
      stopping = true;
      await loop;
      return runs;
    },
  };
}

/** The gateway's deadline for a request's headers (server.headersTimeout). */
const HEADERS_TIMEOUT_MS = 20_000;

/** Connections that trickle their request headers, opened before the cases and judged last. */
let slowHeaders: Array<Promise<{ answer: string; afterMs: number }>> = [];

let reference: Buffer;
let rssAtStartMB = 0;
let currentTest = '';
let good: ReturnType<typeof goodJobLoop>;

// ---- helpers ----------------------------------------------------------------------------------

/** Follows a job over WebSocket to its last state. */
async function follow(token: string, id: string): Promise<Job | undefined> {
  const client = wsClient(url, token);
  try {
    const sub = record<{ jobUpdates: Job }>(client, WATCH, { id });
    await sub.done;
    if (sub.errors.length) throw new Error(`subscription failed: ${JSON.stringify(sub.errors)}`);
    return sub.values.at(-1)?.jobUpdates;
  } finally {
    await client.dispose();
  }
}

async function uploadOk(bytes: Uint8Array, token = ALICE, contentType = 'application/octet-stream'): Promise<{ id: string; width: number; height: number; contentType: string }> {
  const r = await upload(url, bytes, token, contentType);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { id: string; width: number; height: number; contentType: string };
}

/** The gateway process's resident memory, from its /metrics. */
async function gatewayRssMB(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^process_resident_memory_bytes (\S+)$/m.exec(text);
  assert.ok(m, 'process_resident_memory_bytes in /metrics');
  return Math.round(Number(m[1]) / MB);
}

function assertRefused(r: UploadResult, status: number, code: string, reason?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error?.code, code, JSON.stringify(r.body));
  if (reason) assert.equal(r.body.error?.reason, reason, JSON.stringify(r.body));
}

/** Every error of the answer has this code (and the first this reason); nothing internal leaks. */
function assertGqlError(r: GqlResult, code: string, reason?: string, status?: number): void {
  const got = codes(r);
  assert.ok(got.length >= 1 && got.every((c) => c === code), `${got.join(',')}: ${JSON.stringify(r.errors)?.slice(0, 400)}`);
  if (reason) assert.equal(r.errors![0].extensions?.reason, reason, JSON.stringify(r.errors));
  if (status) assert.equal(r.status, status);
  assert.doesNotMatch(JSON.stringify(r), /stacktrace|\bat [\w.]+ \(|node_modules/, 'no internals leak');
}

/** POST /graphql with a raw body and headers. */
async function postRaw(body: string, headers: Record<string, string>): Promise<GqlResult> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: Omit<GqlResult, 'status'> = {};
  try {
    parsed = JSON.parse(text) as Omit<GqlResult, 'status'>;
  } catch {
    assert.fail(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, ...parsed };
}

/** One HTTP request line over raw TCP (fetch would normalise the path); the status and body. */
async function rawGet(path: string, token = ALICE): Promise<{ status: number; body: string }> {
  const answer = await rawRequest(port, (sock) => sock.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`));
  const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
  assert.ok(m, `no status line: ${answer.slice(0, 100)}`);
  return { status: Number(m[1]), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) };
}

interface Closed {
  code: number;
  reason: string;
}

/** A WebSocket spoken by hand (graphql-transport-ws frames), to send what createClient never would. */
class RawSocket {
  readonly messages: Array<Record<string, unknown>> = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<boolean>;
  private readonly ws: WebSocket;
  private waiters: Array<() => void> = [];

  constructor(protocols: string | string[] | undefined = 'graphql-transport-ws', options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, protocols, options);
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('close', () => resolve(false));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data) => {
      try {
        this.messages.push(JSON.parse(String(data)) as Record<string, unknown>);
      } catch {
        this.messages.push({ unparsable: String(data) });
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(frame: Record<string, unknown> | string | Buffer, options: { binary?: boolean } = {}): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame), options);
  }

  async init(token: string | undefined = ALICE): Promise<void> {
    assert.ok(await this.opened, 'socket opened');
    this.send({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} });
    await this.next((m) => m.type === 'connection_ack');
  }

  /** The first message (seen or to come) matching, or a failure after timeoutMs. */
  async next(match: (m: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.ws.readyState === WebSocket.CLOSED) {
        const c = await this.closed;
        assert.fail(`closed ${c.code} ${c.reason} before the message came; got ${JSON.stringify(this.messages)}`);
      }
      if (Date.now() > end) assert.fail(`no such message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** Waits for the close, failing after timeoutMs. */
  async closedWithin(timeoutMs = 15_000): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([this.closed, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The error codes of a graphql-ws `error` or `next` message. */
function frameCodes(m: Record<string, unknown>): string[] {
  const errors = (m.type === 'error' ? m.payload : (m.payload as { errors?: unknown[] })?.errors) as Array<{ extensions?: { code?: string } }> | undefined;
  return (errors ?? []).map((e) => String(e.extensions?.code));
}

function frameReason(m: Record<string, unknown>): string | undefined {
  const errors = (m.type === 'error' ? m.payload : (m.payload as { errors?: unknown[] })?.errors) as Array<{ extensions?: { reason?: string } }> | undefined;
  return errors?.[0]?.extensions?.reason;
}

async function aliceJob(img = texturedImage(32, 24, 5), msk = rectMask(32, 24, 12, 8, 18, 14), options: Record<string, unknown> = { seed: 1, maxIterations: 2 }): Promise<Job> {
  const i = await uploadOk(await png(img));
  const m = await uploadOk(await png(msk));
  const r = await gql<{ createInpaintJob: Job }>(url, CREATE, { input: { imageId: i.id, maskId: m.id, options } }, ALICE);
  assert.deepEqual(r.errors ?? [], []);
  return r.data!.createInpaintJob;
}

// ---- the stack --------------------------------------------------------------------------------

before(async () => {
  stack = await startStack({
    gateways: 1,
    kernels: 1,
    tokens: `${ALICE}=alice,${BOB}=bob,${CAROL}=carol`,
    env: {
      PATCHWORK_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      PATCHWORK_MAX_IMAGE_PIXELS: String(MAX_PIXELS),
      PATCHWORK_UPLOAD_TIMEOUT_MS: String(UPLOAD_TIMEOUT_MS),
      PATCHWORK_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(MAX_SUBSCRIPTIONS),
      PATCHWORK_MAX_QUERY_DEPTH: '5',
      PATCHWORK_RATE_LIMIT_BURST: '1000000',
      PATCHWORK_RATE_LIMIT_PER_SECOND: '1000000',
      NODE_ENV: 'production',
    },
  });
  url = stack.gateways[0].url;
  port = Number(new URL(url).port);
  gatewayPid = stack.gateways[0].child.pid!;
  // The reference: the good job once, on a quiet stack, before any abuse.
  const ref = await runGoodJob();
  assert.equal(ref.status, 'COMPLETED', ref.error ?? '');
  reference = ref.bytes!;
  rssAtStartMB = await gatewayRssMB();
  good = goodJobLoop();
  // Slowloris on the headers: a header byte a second, never idle, never done. They run while all
  // the other cases do and are judged in the last describe.
  slowHeaders = Array.from({ length: 10 }, () => {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    return rawRequest(
      port,
      (sock) => {
        sock.write(`POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ALICE}\r\n`);
        timer = setInterval(() => {
          if (sock.writable) sock.write('X');
        }, 1_000);
        sock.on('close', () => clearInterval(timer));
      },
      HEADERS_TIMEOUT_MS + 40_000,
    ).then((answer) => {
      clearInterval(timer);
      return { answer, afterMs: Date.now() - t0 };
    });
  });
});

after(async () => {
  await good?.stop().catch(() => {});
  await stack?.close();
});

beforeEach((t) => {
  currentTest = t.name;
});

/** Gateway log lines already looked at by afterEach. */
let logSeen = 0;

afterEach(async () => {
  const g = stack.gateways[0];
  // Nothing a client sends may make the gateway log an internal error (pino level 50+), nor
  // graphql-ws report an error in its own handling.
  const fresh = g.log.slice(logSeen);
  logSeen = g.log.length;
  const internal = fresh.filter((l) => /"level":(50|60)|Internal error|uncaught|unhandled/i.test(l));
  assert.deepEqual(internal, [], 'the gateway logged internal errors');
  assert.equal(g.child.exitCode, null, `gateway exited: ${g.log.slice(-20).join('\n')}`);
  assert.equal(g.child.signalCode, null);
  assert.equal(g.child.pid, gatewayPid);
  const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(health.status, 200);
});

// ---- uploads ----------------------------------------------------------------------------------

describe('uploads: broken and lying files', () => {
  test('a truncated PNG: 400 BAD_IMAGE', async () => {
    const bytes = await png(goodImage);
    assertRefused(await upload(url, bytes.subarray(0, Math.floor(bytes.length * 0.6)), ALICE), 400, 'BAD_USER_INPUT', 'BAD_IMAGE');
  });

  test('a PNG with corrupt pixel data (IDAT bytes flipped, CRC broken): 400 BAD_IMAGE', async () => {
    const bytes = Buffer.from(await png(goodImage));
    const idat = bytes.indexOf('IDAT', 0, 'latin1');
    for (let i = idat + 8; i < idat + 40; i++) bytes[i] ^= 0x5a;
    assertRefused(await upload(url, bytes, ALICE), 400, 'BAD_USER_INPUT', 'BAD_IMAGE');
  });

  test('zero bytes: 400 EMPTY_BODY', async () => {
    assertRefused(await upload(url, new Uint8Array(0), ALICE), 400, 'BAD_USER_INPUT', 'EMPTY_BODY');
  });

  test('text sent as an image: 415 NOT_AN_IMAGE', async () => {
    assertRefused(await upload(url, Buffer.from('<html><body>definitely a picture</body></html>'), ALICE, 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'NOT_AN_IMAGE');
    // Shorter than the 12 bytes the sniffer wants.
    assertRefused(await upload(url, Buffer.from('hi'), ALICE, 'image/jpeg'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'NOT_AN_IMAGE');
  });

  test('a PNG header claiming 100000×100000 pixels (valid CRC): 413 TOO_MANY_PIXELS', async () => {
    const lying = pngClaiming(await png(goodImage), 100_000, 100_000);
    assertRefused(await upload(url, lying, ALICE), 413, 'PAYLOAD_TOO_LARGE', 'TOO_MANY_PIXELS');
  });

  test('a JPEG header claiming 65000×65000 pixels: 413 TOO_MANY_PIXELS', async () => {
    const jpeg = await sharp(Buffer.from(goodImage.data), { raw: { width: 64, height: 48, channels: 4 } }).jpeg().toBuffer();
    assertRefused(await upload(url, jpegClaiming(jpeg, 65_000, 65_000), ALICE), 413, 'PAYLOAD_TOO_LARGE', 'TOO_MANY_PIXELS');
  });

  test('a real JPEG over the pixel cap (2600×1600 under a 4 MP cap, small in bytes): 413 TOO_MANY_PIXELS', async () => {
    const big = await sharp({ create: { width: 2600, height: 1600, channels: 3, background: '#336699' } }).jpeg({ quality: 50 }).toBuffer();
    assert.ok(big.length < MAX_UPLOAD_BYTES);
    assertRefused(await upload(url, big, ALICE), 413, 'PAYLOAD_TOO_LARGE', 'TOO_MANY_PIXELS');
  });

  test('a decompression bomb in a PNG text chunk (1 GB of comment in 1 MB): the image is read, the comment is not inflated', async () => {
    const bomb = await pngWithTextBomb(await png(goodImage), 1024);
    assert.ok(bomb.length < MAX_UPLOAD_BYTES);
    const before = await gatewayRssMB();
    const t0 = Date.now();
    const r = await uploadOk(bomb);
    assert.deepEqual([r.width, r.height], [64, 48]);
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    const grew = (await gatewayRssMB()) - before;
    assert.ok(grew < 300, `gateway RSS grew by ${grew} MB`);
  });

  test('an animated GIF: 415 UNSUPPORTED_FORMAT (GIF is not accepted; the message says so and what is)', async () => {
    const gif = await animated(goodImage, 'gif');
    // Declared honestly, or hidden behind application/octet-stream: the bytes give it away.
    const declared = await upload(url, gif, ALICE, 'image/gif');
    assertRefused(declared, 415, 'UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_FORMAT');
    assert.match(declared.body.error!.message, /image\/gif is not accepted.*image\/png/);
    const sniffed = await upload(url, gif, ALICE, 'application/octet-stream');
    assertRefused(sniffed, 415, 'UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_FORMAT');
    assert.match(sniffed.body.error!.message, /^GIF images are not accepted: send a PNG, JPEG or WebP/);
  });

  test('an animated WebP: 415 ANIMATED_IMAGE', async () => {
    assertRefused(await upload(url, await animated(goodImage, 'webp'), ALICE, 'image/webp'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'ANIMATED_IMAGE');
  });

  test('a body over the byte cap: 413 TOO_MANY_BYTES, with a length and streamed without one', async () => {
    const big = Buffer.concat([await png(goodImage), Buffer.alloc(MAX_UPLOAD_BYTES)]);
    assertRefused(await upload(url, big, ALICE), 413, 'PAYLOAD_TOO_LARGE', 'TOO_MANY_BYTES');
    const answer = await rawRequest(port, (sock) => {
      sock.write(`POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ALICE}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const chunk = Buffer.alloc(256 * 1024);
      chunk.set(big.subarray(0, 8));
      for (let i = 0; i < 12; i++) sock.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`, 'latin1');
    });
    assert.match(answer, /^HTTP\/1\.1 413/);
    assert.match(answer, /"TOO_MANY_BYTES"/);
  });

  test('a refused upload leaves its keep-alive connection working: the next request on it is answered', async () => {
    // A refusal after the whole body was read (here: animated) must not schedule a cut of the
    // socket: 2 s later the connection carries another request — behind a pooling proxy, another
    // client's.
    const webp = await animated(goodImage, 'webp');
    const answer = await rawRequest(port, (sock) => {
      sock.write(`POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ALICE}\r\nContent-Type: image/webp\r\nContent-Length: ${webp.length}\r\n\r\n`);
      sock.write(webp);
      setTimeout(() => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 2_600);
    });
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['415', '200'], answer.slice(0, 300));
  });

  test('declared types that are not images, multipart forms: 415', async () => {
    const bytes = await png(goodImage);
    assertRefused(await upload(url, bytes, ALICE, 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'NOT_AN_IMAGE');
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'a.png');
    const res = await fetch(`${url}/uploads`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}` }, body: form });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('uploads without a token or with a wrong one: 401 UNAUTHENTICATED', async () => {
    const bytes = await png(goodImage);
    assertRefused(await upload(url, bytes), 401, 'UNAUTHENTICATED');
    assertRefused(await upload(url, bytes, 'abuse-nobody-token-99'), 401, 'UNAUTHENTICATED');
  });
});

describe('uploads: unusual but valid encodings are accepted and converted to 8-bit sRGB', () => {
  const img = texturedImage(32, 24, 9);
  const msk = rectMask(32, 24, 12, 8, 19, 15);

  /** Runs a job on these bytes and checks it equals the in-process kernel on their decoded pixels. */
  async function jobOn(imageBytes: Buffer, maskBytes: Buffer): Promise<void> {
    const i = await uploadOk(imageBytes);
    const m = await uploadOk(maskBytes);
    assert.deepEqual([i.width, i.height, m.width, m.height], [32, 24, 32, 24]);
    const options = { seed: 2, maxIterations: 2 };
    const r = await gql<{ createInpaintJob: Job }>(url, CREATE, { input: { imageId: i.id, maskId: m.id, options } }, ALICE);
    assert.deepEqual(r.errors ?? [], []);
    const final = await follow(ALICE, r.data!.createInpaintJob.id);
    assert.equal(final?.status, 'COMPLETED', JSON.stringify(final?.error));
    const res = await download(url, final.result!.url, ALICE);
    const local = await encodeImage(await inpaint(await decodeImage(imageBytes), await decodeImage(maskBytes, 'mask'), options), 'png');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(local), 'result equals the in-process kernel on the decoded pixels');
  }

  test('CMYK JPEG image: accepted (image/jpeg), the job completes', async () => {
    const cmyk = await cmykJpeg(img);
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    assert.equal((await uploadOk(cmyk)).contentType, 'image/jpeg');
    await jobOn(cmyk, await png(msk));
  });

  test('16-bit PNG image and 16-bit grayscale mask: accepted, the job completes', async () => {
    const deep = await png16(img);
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    await jobOn(deep, await grayscalePng(msk, 16));
  });

  test('grayscale PNG image and 8-bit grayscale mask: accepted, the job completes', async () => {
    const gray = await grayscalePng(img);
    assert.equal((await sharp(gray).metadata()).channels, 1);
    await jobOn(gray, await grayscalePng(msk));
  });
});

describe('uploads that stall', () => {
  test('a stalled upload (slowloris) is cut off with 408 UPLOAD_TIMEOUT and does not block others', async () => {
    const started = Date.now();
    const head = `POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ALICE}\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n`;
    const stalled = Array.from({ length: 20 }, () =>
      rawRequest(port, (sock) => {
        sock.write(head);
        sock.write(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
      }),
    );
    // While twenty uploads hang, others are served at once.
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await uploadOk(await png(goodImage), BOB);
    assert.deepEqual(codes(await gql(url, '{ kernelNodes { id } }', {}, BOB)), []);
    assert.ok(Date.now() - t0 < UPLOAD_TIMEOUT_MS, `served in ${Date.now() - t0} ms while uploads stall`);
    for (const answer of await Promise.all(stalled)) {
      assert.match(answer, /^HTTP\/1\.1 408/);
      assert.match(answer, /"REQUEST_TIMEOUT"/);
      assert.match(answer, /"UPLOAD_TIMEOUT"/);
    }
    const took = Date.now() - started;
    assert.ok(took >= UPLOAD_TIMEOUT_MS - 100 && took < UPLOAD_TIMEOUT_MS + 8_000, `cut off after ${took} ms`);
  });

  test('a trickled upload (a byte every 100 ms, never idle) is cut off at the deadline: 408', async () => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const answer = await rawRequest(port, (sock) => {
      sock.write(`POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ALICE}\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n`);
      const bytes = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
      let i = 0;
      timer = setInterval(() => {
        if (!sock.destroyed && sock.writable) sock.write(Buffer.from([bytes[i++ % bytes.length]]));
      }, 100);
      sock.on('close', () => clearInterval(timer));
    });
    clearInterval(timer);
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"UPLOAD_TIMEOUT"/);
    assert.ok(Date.now() - started < UPLOAD_TIMEOUT_MS + 8_000);
  });
});

// ---- jobs -------------------------------------------------------------------------------------

describe('jobs: bad input', () => {
  test('mask size mismatch: BAD_USER_INPUT BAD_MASK_SIZE', async () => {
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(24, 32, 2, 2, 6, 6)));
    assertGqlError(await gql(url, CREATE, { input: { imageId: i.id, maskId: m.id } }, ALICE), 'BAD_USER_INPUT', 'BAD_MASK_SIZE');
  });

  test('a donor mask of the wrong size: BAD_USER_INPUT BAD_MASK_SIZE', async () => {
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(32, 24, 12, 8, 18, 14)));
    const d = await uploadOk(await png(rectMask(16, 12, 0, 0, 8, 8)));
    assertGqlError(await gql(url, CREATE, { input: { imageId: i.id, maskId: m.id, donorIds: [d.id] } }, ALICE), 'BAD_USER_INPUT', 'BAD_MASK_SIZE');
  });

  test('more donor masks than allowed, an oversized idempotencyKey: BAD_USER_INPUT', async () => {
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(32, 24, 12, 8, 18, 14)));
    assertGqlError(await gql(url, CREATE, { input: { imageId: i.id, maskId: m.id, donorIds: Array(9).fill(m.id) } }, ALICE), 'BAD_USER_INPUT', 'TOO_MANY_DONORS');
    assertGqlError(await gql(url, CREATE, { input: { imageId: i.id, maskId: m.id, idempotencyKey: 'k'.repeat(10_000) } }, ALICE), 'BAD_USER_INPUT');
  });

  test('an empty mask (nothing to remove): the job completes with the picture unchanged', async () => {
    const img = texturedImage(32, 24, 5);
    const job = await aliceJob(img, rectMask(32, 24, 0, 0, 0, 0));
    const final = await follow(ALICE, job.id);
    assert.equal(final?.status, 'COMPLETED', JSON.stringify(final?.error));
    const res = await download(url, final.result!.url, ALICE);
    const out = await decodeImage(Buffer.from(await res.arrayBuffer()));
    assert.deepEqual(Buffer.from(out.data), Buffer.from(img.data));
  });

  test('an all-hole mask (nothing to copy from): the job fails at once with error.code EMPTY_SOURCE', async () => {
    const t0 = Date.now();
    const job = await aliceJob(texturedImage(32, 24, 5), rectMask(32, 24, 0, 0, 32, 24));
    const final = await follow(ALICE, job.id);
    assert.equal(final?.status, 'FAILED');
    assert.equal(final.error?.code, 'EMPTY_SOURCE');
    assert.match(final.error!.message, /nothing to fill from/);
    assert.doesNotMatch(final.error!.message, /\bat [\w.]+ \(|node_modules/);
    assert.ok(Date.now() - t0 < 30_000, 'not retried');
  });

  test('out-of-range options: BAD_USER_INPUT BAD_OPTION, each', async () => {
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(32, 24, 12, 8, 18, 14)));
    for (const options of [{ patchSize: 4 }, { patchSize: 1 }, { patchSize: 99 }, { patchSize: -7 }, { maxIterations: 0 }, { maxIterations: 1_000_000 }, { seed: -1 }]) {
      assertGqlError(await gql(url, CREATE, { input: { imageId: i.id, maskId: m.id, options } }, ALICE), 'BAD_USER_INPUT', 'BAD_OPTION');
    }
  });

  test('edge values of every option are accepted (maxIterations 1, patchSize 3 and 31, seed 0 and 2^31-1)', async () => {
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(32, 24, 12, 8, 18, 14)));
    for (const options of [{ maxIterations: 1 }, { maxIterations: 200 }, { patchSize: 3 }, { patchSize: 31 }, { seed: 0 }, { seed: 2 ** 31 - 1 }, { distance: 'CIE2000' }]) {
      const r = await gql<{ createInpaintJob: Job }>(url, CREATE, { input: { imageId: i.id, maskId: m.id, options } }, ALICE);
      assert.deepEqual(r.errors ?? [], [], JSON.stringify(options));
      await gql(url, `mutation { cancelJob(id: "${r.data!.createInpaintJob.id}") { id } }`, {}, ALICE);
    }
  });

  test('numbers GraphQL cannot hold (2^31, 1e300, 1.5, strings, NaN literal): BAD_USER_INPUT before any job', async () => {
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(32, 24, 12, 8, 18, 14)));
    for (const seed of [2 ** 31, 1e300, 1.5, 'NaN', 'Infinity', '7', true, [1], { n: 1 }]) {
      assertGqlError(await gql(url, CREATE, { input: { imageId: i.id, maskId: m.id, options: { seed } } }, ALICE), 'BAD_USER_INPUT', undefined, 400);
    }
    // In the query text itself: NaN is not a number literal, 1e400 is not an Int.
    for (const literal of ['NaN', '1e400', '-99999999999999999999']) {
      assertGqlError(await gql(url, `mutation { createInpaintJob(input: { imageId: "${i.id}", maskId: "${m.id}", options: { seed: ${literal} } }) { id } }`, {}, ALICE), 'BAD_USER_INPUT', undefined, 400);
    }
    // NaN in the JSON body is not JSON.
    assertGqlError(
      await postRaw(`{"query": ${JSON.stringify(CREATE)}, "variables": {"input": {"imageId": "${i.id}", "maskId": "${m.id}", "options": {"seed": NaN}}}}`, { 'content-type': 'application/json', authorization: `Bearer ${ALICE}` }),
      'BAD_USER_INPUT',
      'MALFORMED_JSON',
      400,
    );
  });

  test('a job flood from one tenant (40 at once): over its running cap they wait QUEUED, the others go on; all cancellable', async () => {
    const i = await uploadOk(await png(texturedImage(64, 48, 8)));
    const m = await uploadOk(await png(discMask(64, 48, 30, 24, 10)));
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, k) => gql<{ createInpaintJob: Job }>(url, CREATE, { input: { imageId: i.id, maskId: m.id, options: { seed: 100 + k, maxIterations: 50 } } }, ALICE)),
    );
    for (const r of created) assert.deepEqual(r.errors ?? [], []);
    const ids = created.map((r) => r.data!.createInpaintJob.id);
    const states = await gql<{ jobs: { nodes: Array<{ id: string; status: string }> } }>(url, '{ jobs(first: 100) { nodes { id status } } }', {}, ALICE);
    const mine = states.data!.jobs.nodes.filter((n) => ids.includes(n.id));
    const running = mine.filter((n) => n.status === 'RUNNING').length;
    assert.ok(running <= 4, `${running} running at once (cap 4)`);
    assert.ok(mine.some((n) => n.status === 'QUEUED'), mine.map((n) => n.status).join(','));
    // Carol's good job keeps running meanwhile (checked by the last test); alice cleans up.
    const canceled = await Promise.all(ids.map((id) => gql<{ cancelJob: Job }>(url, `mutation { cancelJob(id: "${id}") { id status } }`, {}, ALICE)));
    // A job that finished in the meantime says so: BAD_USER_INPUT JOB_FINISHED.
    for (const c of canceled) if (c.errors) assertGqlError(c, 'BAD_USER_INPUT', 'JOB_FINISHED');
    for (const id of ids) assert.ok(['CANCELED', 'COMPLETED'].includes((await follow(ALICE, id))!.status));
  });

  test('__proto__ and constructor keys in input objects: BAD_USER_INPUT, nothing polluted', async () => {
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(32, 24, 12, 8, 18, 14)));
    for (const body of [
      `{"query": ${JSON.stringify(CREATE)}, "variables": {"input": {"imageId": "${i.id}", "maskId": "${m.id}", "options": {"__proto__": {"patchSize": 4}}}}}`,
      `{"query": ${JSON.stringify(CREATE)}, "variables": {"input": {"imageId": "${i.id}", "maskId": "${m.id}", "__proto__": {"tenant": "bob"}}}}`,
      `{"query": ${JSON.stringify(CREATE)}, "variables": {"input": {"imageId": "${i.id}", "maskId": "${m.id}", "constructor": {"prototype": {"polluted": 1}}}}}`,
      `{"query": "{ kernelNodes { id } }", "__proto__": {"query": "mutation { cancelJob(id: \\"x\\") { id } }"}}`,
    ]) {
      const r = await postRaw(body, { 'content-type': 'application/json', authorization: `Bearer ${ALICE}` });
      if (r.errors) assertGqlError(r, 'BAD_USER_INPUT', undefined, 400);
      else assert.ok((r.data as { kernelNodes?: unknown }).kernelNodes, JSON.stringify(r).slice(0, 200));
    }
    // The next job of this tenant takes the defaults, as if nothing had been sent before.
    const ok = await gql<{ createInpaintJob: Job & { options: { patchSize: number } } }>(url, CREATE.replace('error { code message }', 'error { code message } options { patchSize }'), { input: { imageId: i.id, maskId: m.id, options: { maxIterations: 1 } } }, ALICE);
    assert.equal(ok.data?.createInpaintJob.options.patchSize, DEFAULT_OPTIONS.patchSize, JSON.stringify(ok));
    await follow(ALICE, ok.data!.createInpaintJob.id);
  });

  test('unknown job ids, including NATS wildcards and path tricks: NOT_FOUND everywhere', async () => {
    const ops = ['query($id: ID!) { job(id: $id) { id } }', ...['cancelJob', 'pauseJob', 'resumeJob', 'acceptJob'].map((m) => `mutation($id: ID!) { ${m}(id: $id) { id } }`)];
    for (const id of ['no-such-job', '00000000-0000-4000-8000-000000000000', '*', '>', 'a.b.>', 'job.*.events', '../../etc/passwd', ' ', '\u0000', 'k'.repeat(256)]) {
      for (const op of ops) assertGqlError(await gql(url, op, { id }, ALICE), 'NOT_FOUND');
    }
    // Not an id at all (empty, or longer than any id can be): said so.
    for (const id of ['', 'x'.repeat(10_000)]) {
      for (const op of ops) assertGqlError(await gql(url, op, { id }, ALICE), 'BAD_USER_INPUT', 'BAD_ID');
    }
    const sock = new RawSocket();
    try {
      await sock.init();
      sock.send({ id: 's1', type: 'subscribe', payload: { query: WATCH, variables: { id: '>' } } });
      assert.deepEqual(frameCodes(await sock.next((m) => m.id === 's1' && m.type !== 'complete')), ['NOT_FOUND']);
    } finally {
      sock.close();
    }
  });

  test("another tenant's job: NOT_FOUND on query, every mutation and the subscription", async () => {
    const job = await aliceJob();
    await follow(ALICE, job.id);
    assertGqlError(await gql(url, `{ job(id: "${job.id}") { id } }`, {}, BOB), 'NOT_FOUND');
    for (const m of ['cancelJob', 'pauseJob', 'resumeJob', 'acceptJob']) assertGqlError(await gql(url, `mutation { ${m}(id: "${job.id}") { id } }`, {}, BOB), 'NOT_FOUND');
    const list = await gql<{ jobs: { nodes: Array<{ id: string }> } }>(url, '{ jobs(first: 100) { nodes { id } } }', {}, BOB);
    assert.ok(!list.data!.jobs.nodes.some((n) => n.id === job.id));
    const sock = new RawSocket();
    try {
      await sock.init(BOB);
      sock.send({ id: 'b', type: 'subscribe', payload: { query: WATCH, variables: { id: job.id } } });
      // The subscribe resolver fails: a `next` frame with the error and no data, then `complete`.
      const frame = await sock.next((m) => m.id === 'b' && m.type !== 'complete');
      assert.deepEqual(frameCodes(frame), ['NOT_FOUND']);
      assert.equal((frame.payload as { data?: unknown }).data ?? null, null);
    } finally {
      sock.close();
    }
  });

  test("another tenant's uploads and blobs: NOT_FOUND to create with, 404 to download (same as a missing blob)", async () => {
    const job = await aliceJob();
    const final = (await follow(ALICE, job.id))!;
    assert.equal(final.status, 'COMPLETED');
    const i = await uploadOk(await png(texturedImage(32, 24, 5)));
    const m = await uploadOk(await png(rectMask(32, 24, 12, 8, 18, 14)));
    assertGqlError(await gql(url, CREATE, { input: { imageId: i.id, maskId: m.id } }, BOB), 'NOT_FOUND');
    const missing = await download(url, `/blobs/${'0'.repeat(64)}`, BOB);
    const missingBody = await missing.json();
    for (const blob of [final.result!.url, `/blobs/${i.id}`]) {
      const r = await download(url, blob, BOB);
      assert.equal(r.status, 404);
      const body = (await r.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'NOT_FOUND');
      assert.deepEqual(Object.keys(body.error), Object.keys((missingBody as { error: object }).error));
      assert.doesNotMatch(r.headers.get('cache-control') ?? '', /immutable/);
      assert.equal((await download(url, blob, ALICE)).status, 200);
    }
  });
});

describe('tenants: keys and cursors', () => {
  test("another tenant's idempotencyKey makes that tenant's own job, never returns alice's", async () => {
    const img = await png(texturedImage(32, 24, 5));
    const msk = await png(rectMask(32, 24, 12, 8, 18, 14));
    const a = await gql<{ createInpaintJob: Job }>(url, CREATE, { input: { imageId: (await uploadOk(img, ALICE)).id, maskId: (await uploadOk(msk, ALICE)).id, idempotencyKey: 'shared-key', options: { maxIterations: 2 } } }, ALICE);
    const b = await gql<{ createInpaintJob: Job }>(url, CREATE, { input: { imageId: (await uploadOk(img, BOB)).id, maskId: (await uploadOk(msk, BOB)).id, idempotencyKey: 'shared-key', options: { maxIterations: 2 } } }, BOB);
    assert.deepEqual([a.errors, b.errors], [undefined, undefined]);
    assert.notEqual(a.data!.createInpaintJob.id, b.data!.createInpaintJob.id);
    assertGqlError(await gql(url, `{ job(id: "${a.data!.createInpaintJob.id}") { id } }`, {}, BOB), 'NOT_FOUND');
    await follow(ALICE, a.data!.createInpaintJob.id);
    await follow(BOB, b.data!.createInpaintJob.id);
  });

  test("page sizes out of range, garbage cursors and another tenant's cursor: BAD_USER_INPUT or an empty page, never alice's jobs", async () => {
    const aliceJobs = new Set((await gql<{ jobs: { nodes: Array<{ id: string }> } }>(url, '{ jobs(first: 100) { nodes { id } } }', {}, ALICE)).data!.jobs.nodes.map((n) => n.id));
    const one = [...aliceJobs][0] ?? (await aliceJob()).id;
    aliceJobs.add(one);
    for (const q of ['{ jobs(first: 0) { nodes { id } } }', '{ jobs(first: -5) { nodes { id } } }', '{ jobs(first: 101) { nodes { id } } }', `{ job(id: "${one}") { history(first: 1000) { nodes { seq } } } }`, `{ job(id: "${one}") { history(first: -1) { nodes { seq } } } }`]) {
      assertGqlError(await gql(url, q, {}, ALICE), 'BAD_USER_INPUT', 'BAD_PAGE_SIZE');
    }
    assertGqlError(await gql(url, 'query($a: String) { jobs(after: $a) { nodes { id } } }', { a: 'c'.repeat(5_000) }, ALICE), 'BAD_USER_INPUT', 'BAD_CURSOR');
    const page = await gql<{ jobs: { pageInfo: { endCursor: string | null } } }>(url, '{ jobs(first: 1) { pageInfo { endCursor } } }', {}, ALICE);
    for (const after of ['garbage', '\u0000', '../', page.data!.jobs.pageInfo.endCursor]) {
      const r = await gql<{ jobs: { nodes: Array<{ id: string }> } }>(url, 'query($a: String) { jobs(first: 100, after: $a) { nodes { id } } }', { a: after }, BOB);
      if (r.errors) assertGqlError(r, 'BAD_USER_INPUT');
      else assert.ok(!r.data!.jobs.nodes.some((n) => aliceJobs.has(n.id)), `cursor ${after} shows bob alice's jobs`);
    }
  });
});

// ---- GraphQL over HTTP ------------------------------------------------------------------------

describe('GraphQL over HTTP', () => {
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${ALICE}` };

  test('malformed GraphQL: 400 BAD_USER_INPUT GRAPHQL_PARSE_FAILED', async () => {
    for (const q of ['{ jobs { nodes { id }', 'query {', '}}}}', 'mutation { createInpaintJob(input: ) { id } }', '\u0000', '{ job(id: "x) { id } }']) {
      assertGqlError(await gql(url, q, {}, ALICE), 'BAD_USER_INPUT', 'GRAPHQL_PARSE_FAILED', 400);
    }
  });

  test('invalid operations (unknown field, wrong argument, two operations without a name): 400 BAD_USER_INPUT', async () => {
    assertGqlError(await gql(url, '{ nope }', {}, ALICE), 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 400);
    assertGqlError(await gql(url, '{ job(idd: "x") { id } }', {}, ALICE), 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 400);
    assertGqlError(await gql(url, 'query A { kernelNodes { id } } query B { kernelNodes { id } }', {}, ALICE), 'BAD_USER_INPUT');
    const r = await postRaw(JSON.stringify({ query: '{ kernelNodes { id } }', operationName: 'Missing' }), auth);
    assertGqlError(r, 'BAD_USER_INPUT');
  });

  test('a depth bomb: BAD_USER_INPUT QUERY_TOO_DEEP (the stack caps depth at 5)', async () => {
    assertGqlError(await gql(url, '{ jobs { edges { node { history { nodes { seq } } } } } }', {}, ALICE), 'BAD_USER_INPUT', 'QUERY_TOO_DEEP', 400);
    // Fragments and inline fragments do not hide depth.
    const viaFragments = '{ jobs { ...E } } fragment E on JobConnection { edges { ... on JobEdge { node { ...H } } } } fragment H on InpaintJob { history { nodes { seq } } }';
    assertGqlError(await gql(url, viaFragments, {}, ALICE), 'BAD_USER_INPUT', 'QUERY_TOO_DEEP', 400);
    // Introspection nests without end (type → fields → type → ...): capped too.
    let intro = 'name';
    for (let i = 0; i < 12; i++) intro = `fields { type { ${intro} } }`;
    assertGqlError(await gql(url, `{ __schema { types { ${intro} } } }`, {}, ALICE), 'BAD_USER_INPUT', undefined, 400);
  });

  test('nesting deep enough to overflow the parser (5000 levels): 400 QUERY_TOO_DEEP before parsing, not 500', async () => {
    const q = '{ __type(name: "Query") { ' + 'ofType { '.repeat(5_000) + 'name' + ' }'.repeat(5_000) + ' } }';
    assertGqlError(await gql(url, q, {}, ALICE), 'BAD_USER_INPUT', 'QUERY_TOO_DEEP', 400);
    assertGqlError(await gql(url, '{'.repeat(200_000), {}, ALICE), 'BAD_USER_INPUT', 'QUERY_TOO_DEEP', 400);
    const list = `{ job(id: ${'['.repeat(10_000)}"x"${']'.repeat(10_000)}) { id } }`;
    assertGqlError(await gql(url, list, {}, ALICE), 'BAD_USER_INPUT', 'QUERY_TOO_DEEP', 400);
    const viaGet = await fetch(`${url}/graphql?query=${encodeURIComponent('{'.repeat(3_000))}`, { headers: { authorization: `Bearer ${ALICE}`, 'apollo-require-preflight': '1' } });
    assert.equal(viaGet.status, 400);
    // Brackets in strings and comments do not count; the introspection query GraphiQL sends passes.
    const inStrings = `{ job(id: "${'{'.repeat(200)}") { id } } # ${'{'.repeat(1_000)}`;
    assertGqlError(await gql(url, inStrings, {}, ALICE), 'NOT_FOUND');
    const intro = await gql(url, getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }), {}, ALICE);
    assert.equal(intro.status, 200, JSON.stringify(intro.errors));
  });

  test('a fragment bomb (each fragment spreads the one before twice, 2^40 fields): QUERY_TOO_COSTLY in well under a second of work', async () => {
    let doc = '{ ...F40 }\nfragment F0 on Query { kernelNodes { id } }\n';
    for (let i = 1; i <= 40; i++) doc += `fragment F${i} on Query { ...F${i - 1} ...F${i - 1} }\n`;
    const t0 = Date.now();
    const r = await gql(url, doc, {}, ALICE);
    assertGqlError(r, 'BAD_USER_INPUT', 'QUERY_TOO_COSTLY', 400);
    assert.ok(Date.now() - t0 < 5_000, `answered in ${Date.now() - t0} ms`);
  });

  test('an alias bomb (2000 aliased kernelNodes): QUERY_TOO_COSTLY; 50000 repeated fields answer fast', async () => {
    const aliases = Array.from({ length: 2_000 }, (_, i) => `a${i}: kernelNodes { id address }`).join(' ');
    assertGqlError(await gql(url, `{ ${aliases} }`, {}, ALICE), 'BAD_USER_INPUT', 'QUERY_TOO_COSTLY', 400);
    const t0 = Date.now();
    const same = await gql(url, `{ ${'__typename '.repeat(50_000)} }`, {}, ALICE);
    assert.ok(Date.now() - t0 < 10_000, `answered in ${Date.now() - t0} ms`);
    assert.ok(same.status === 200 || codes(same).every((c) => c === 'BAD_USER_INPUT'), JSON.stringify(same).slice(0, 300));
  });

  test('huge variables: 413 PAYLOAD_TOO_LARGE; deeply nested variables within the cap: 400', async () => {
    assertGqlError(await gql(url, '{ kernelNodes { id } }', { blob: 'x'.repeat(2 * MB) }, ALICE), 'PAYLOAD_TOO_LARGE', undefined, 413);
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const r = await postRaw(`{"query": ${JSON.stringify(CREATE)}, "variables": {"input": {"imageId": "a", "maskId": "b", "donorIds": ${deep}}}}`, auth);
    assertGqlError(r, 'BAD_USER_INPUT', undefined, 400);
  });

  test('batched queries (a JSON array): 400 BAD_USER_INPUT, none of them run', async () => {
    const r = await postRaw(JSON.stringify([{ query: 'mutation { createInpaintJob(input: { imageId: "a", maskId: "b" }) { id } }' }, { query: '{ kernelNodes { id } }' }]), auth);
    assertGqlError(r, 'BAD_USER_INPUT', 'BAD_REQUEST', 400);
    assert.match(r.errors![0].message, /batching disabled/);
  });

  test('wrong content types (the CSRF guard), bodies that are no request, a mutation over GET: 400/405 BAD_USER_INPUT, never 500', async () => {
    const body = JSON.stringify({ query: '{ kernelNodes { id } }' });
    // text/plain is what a cross-site form can send without a preflight: refused.
    assertGqlError(await postRaw(body, { 'content-type': 'text/plain', authorization: `Bearer ${ALICE}` }), 'BAD_USER_INPUT', 'BAD_REQUEST', 400);
    assertGqlError(await postRaw(body, { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${ALICE}` }), 'BAD_USER_INPUT', 'BAD_REQUEST', 400);
    assertGqlError(await postRaw('{}', auth), 'BAD_USER_INPUT', 'BAD_REQUEST', 400);
    assertGqlError(await postRaw('"just a string"', auth), 'BAD_USER_INPUT', 'MALFORMED_JSON', 400);
    assertGqlError(await postRaw(JSON.stringify({ query: 42 }), auth), 'BAD_USER_INPUT', 'BAD_REQUEST', 400);
    // A mutation over GET is refused (GET must be safe).
    const get = await fetch(`${url}/graphql?query=${encodeURIComponent('mutation { cancelJob(id: "x") { id } }')}`, { headers: { authorization: `Bearer ${ALICE}`, 'apollo-require-preflight': '1' } });
    assert.ok(get.status === 405 || get.status === 400, String(get.status));
    const getBody = (await get.json()) as GqlResult;
    assert.deepEqual(codes(getBody), ['BAD_USER_INPUT']);
  });

  test('other methods and charsets: 404 NOT_FOUND, 405 or 400 BAD_USER_INPUT, never 500', async () => {
    for (const [method, path] of [['PUT', '/graphql'], ['DELETE', '/graphql'], ['PATCH', '/uploads'], ['DELETE', `/blobs/${'0'.repeat(64)}`], ['PUT', '/uploads'], ['TRACE', '/graphql']] as const) {
      const r = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' }, body: method === 'DELETE' || method === 'TRACE' ? undefined : '{}' }).catch((e: Error) => e);
      if (r instanceof Error) {
        // fetch itself refuses to send TRACE.
        assert.equal(method, 'TRACE', r.message);
        continue;
      }
      assert.ok([404, 405].includes(r.status), `${method} ${path}: ${r.status}`);
      const body = (await r.json()) as { error?: { code: string }; errors?: Array<{ extensions: { code: string } }> };
      assert.ok(body.error?.code === 'NOT_FOUND' || body.errors?.[0]?.extensions.code === 'BAD_USER_INPUT', JSON.stringify(body));
    }
    // UTF-8 bytes read as UTF-16 are no JSON; a charset nobody knows is refused as unreadable.
    const q = JSON.stringify({ query: '{ kernelNodes { id } }' });
    assertGqlError(await postRaw(q, { 'content-type': 'application/json; charset=utf-16', authorization: `Bearer ${ALICE}` }), 'BAD_USER_INPUT', 'MALFORMED_JSON', 400);
    assertGqlError(await postRaw(q, { 'content-type': 'application/json; charset=x-made-up', authorization: `Bearer ${ALICE}` }), 'BAD_USER_INPUT', 'BAD_REQUEST', 400);
  });

  test('missing, wrong, malformed tokens and tokens in the query string: 401 UNAUTHENTICATED', async () => {
    const q = JSON.stringify({ query: '{ kernelNodes { id } }' });
    for (const authorization of [undefined, 'Bearer abuse-nobody-token-99', 'Bearer', 'Basic YWxpY2U6cGFzcw==', `Bearer ${ALICE} extra`, 'Bearer ' + 'x'.repeat(5_000), `bearer  ${ALICE.slice(0, -1)}`]) {
      const r = await postRaw(q, { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) });
      assertGqlError(r, 'UNAUTHENTICATED', undefined, 401);
    }
    // A token in the URL would end up in logs and proxies: not accepted there.
    for (const qs of [`access_token=${ALICE}`, `token=${ALICE}`, `authorization=Bearer%20${ALICE}`]) {
      const r = await fetch(`${url}/graphql?${qs}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: q });
      assert.equal(r.status, 401);
      const b = (await fetch(`${url}/blobs/${'0'.repeat(64)}?${qs}`)).status;
      assert.equal(b, 401);
    }
  });
});

describe('HTTP itself', () => {
  test('a gzip bomb on /graphql (10 MB of JSON in 10 kB): 413 PAYLOAD_TOO_LARGE, the inflated size is capped', async () => {
    const json = `{"query": "{ kernelNodes { id } }", "variables": {"pad": "${' '.repeat(10 * MB)}"}}`;
    const bomb = gzipSync(json, { level: 9 });
    assert.ok(bomb.length < 20_000);
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${ALICE}` }, body: bomb });
    assert.equal(res.status, 413);
    assert.deepEqual(codes({ status: res.status, ...((await res.json()) as object) }), ['PAYLOAD_TOO_LARGE']);
    // An encoding nobody inflates: refused as unreadable.
    const odd = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'x-made-up', authorization: `Bearer ${ALICE}` }, body: '{}' });
    assert.ok(odd.status === 400 || odd.status === 415, String(odd.status));
    // Uploads are never inflated: compressed image bytes are not an image.
    assertRefused(await upload(url, gzipSync(await png(goodImage)), ALICE), 415, 'UNSUPPORTED_MEDIA_TYPE', 'NOT_AN_IMAGE');
  });

  test('request smuggling shapes and oversized headers: 400/431 from the HTTP parser, no crash', async () => {
    const both = await rawRequest(port, (sock) =>
      sock.end(`POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ALICE}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`),
    );
    assert.match(both, /^HTTP\/1\.1 400/);
    const twoLengths = await rawRequest(port, (sock) => sock.end(`POST /uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd`));
    assert.match(twoLengths, /^HTTP\/1\.1 400/);
    const headers = await rawRequest(port, (sock) => sock.end(`GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2_000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}`).join('\r\n')}\r\n\r\n`));
    assert.match(headers, /^HTTP\/1\.1 431/);
  });
});

// ---- WebSocket --------------------------------------------------------------------------------

describe('GraphQL over WebSocket', () => {
  test('missing or wrong token on WebSocket: closed with 4401', async () => {
    for (const payload of [{}, { authorization: 'Bearer abuse-nobody-token-99' }, { authorization: 12345 }, { authorization: { nested: ALICE } }]) {
      const sock = new RawSocket();
      assert.ok(await sock.opened);
      sock.send({ type: 'connection_init', payload });
      const closed = await sock.closedWithin();
      assert.equal(closed.code, 4401, JSON.stringify(payload));
      assert.match(closed.reason, /UNAUTHENTICATED/);
    }
  });

  test('connection_init without a payload: closed with 4401', async () => {
    const sock = new RawSocket();
    assert.ok(await sock.opened);
    sock.send({ type: 'connection_init' });
    assert.equal((await sock.closedWithin()).code, 4401);
  });

  test('subscribe before connection_init: closed with 4401; a second connection_init: 4429', async () => {
    const early = new RawSocket();
    assert.ok(await early.opened);
    early.send({ id: '1', type: 'subscribe', payload: { query: WATCH, variables: { id: 'x' } } });
    assert.equal((await early.closedWithin()).code, 4401);
    const twice = new RawSocket();
    await twice.init();
    twice.send({ type: 'connection_init', payload: { authorization: `Bearer ${ALICE}` } });
    assert.equal((await twice.closedWithin()).code, 4429);
  });

  test('a wrong or missing subprotocol: 4406, never a session', async () => {
    // graphql-ws is the old subscriptions-transport-ws protocol; [] asks for none.
    for (const protocol of ['graphql-ws', 'nonsense', []]) {
      const sock = new RawSocket(protocol);
      const opened = await sock.opened;
      if (opened) sock.send({ type: 'connection_init', payload: { authorization: `Bearer ${ALICE}` } });
      const closed = await sock.closedWithin();
      // Either the server closes the session with 4406, or the handshake names no protocol and
      // the client gives up (1006): no ack in any case.
      assert.ok(closed.code === 4406 || (!opened && closed.code === 1006), `${String(protocol)}: ${closed.code} ${closed.reason}`);
      assert.ok(!sock.messages.some((m) => m.type === 'connection_ack'));
    }
  });

  test('an oversized message (over the 1 MB request cap): 1009; a text frame of invalid UTF-8: 1007; neither logged as an internal error', async () => {
    const sock = new RawSocket();
    await sock.init();
    sock.send({ id: '1', type: 'subscribe', payload: { query: WATCH, variables: { id: 'x', pad: 'x'.repeat(2 * MB) } } });
    assert.equal((await sock.closedWithin()).code, 1009);
    const utf8 = new RawSocket();
    await utf8.init();
    utf8.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    assert.equal((await utf8.closedWithin()).code, 1007);
    // (afterEach checks the gateway's log for internal errors.)
  });

  test('frames that are not graphql-ws messages: closed with 4400', async () => {
    for (const frame of ['not json', '{"type": "no-such-type"}', '{"id": 1, "type": "subscribe"}', '{"id": "1", "type": "subscribe", "payload": {"query": 42}}', '[]', Buffer.from([0xff, 0xfe, 0x00])]) {
      const sock = new RawSocket();
      await sock.init();
      sock.send(frame);
      const closed = await sock.closedWithin();
      assert.equal(closed.code, 4400, `${String(frame)}: ${closed.code} ${closed.reason}`);
    }
  });

  test('malformed and invalid operations over WebSocket: an error frame with BAD_USER_INPUT; the connection stays up', async () => {
    const sock = new RawSocket();
    try {
      await sock.init();
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['parse', { query: 'subscription { jobUpdates(id: "x") {' }, 'GRAPHQL_PARSE_FAILED'],
        ['nothing', { query: '' }, 'GRAPHQL_PARSE_FAILED'],
        ['unknown field', { query: 'subscription { nope }' }, 'GRAPHQL_VALIDATION_FAILED'],
        ['deep', { query: '{ __type(name: "Query") { ' + 'ofType { '.repeat(5_000) + 'name' + ' }'.repeat(5_000) + ' } }' }, 'QUERY_TOO_DEEP'],
        ['brackets', { query: '{'.repeat(100_000) }, 'QUERY_TOO_DEEP'],
        ['list literal', { query: `subscription { jobUpdates(id: ${'['.repeat(10_000)}"x"${']'.repeat(10_000)}) { id } }` }, 'QUERY_TOO_DEEP'],
        ['variables', { query: WATCH, variables: { id: { not: 'an id' } } }, 'BAD_USER_INPUT'],
        ['no variables', { query: WATCH }, 'BAD_USER_INPUT'],
        ['operation name', { query: WATCH, operationName: 'Missing', variables: { id: 'x' } }, 'OPERATION_RESOLUTION_FAILURE'],
      ];
      let n = 0;
      for (const [what, payload, reason] of cases) {
        const id = `c${n++}`;
        sock.send({ id, type: 'subscribe', payload });
        const frame = await sock.next((m) => m.id === id && (m.type === 'error' || m.type === 'next'));
        assert.deepEqual(frameCodes(frame), ['BAD_USER_INPUT'], `${what}: ${JSON.stringify(frame).slice(0, 300)}`);
        if (reason !== 'BAD_USER_INPUT') assert.equal(frameReason(frame), reason, what);
        assert.ok(sock.open, `${what}: the connection stays open`);
      }
      // Depth and cost limits hold over WebSocket too.
      let doc = 'subscription { ...F30 }\nfragment F0 on Subscription { jobUpdates(id: "x") { id } }\n';
      for (let i = 1; i <= 30; i++) doc += `fragment F${i} on Subscription { ...F${i - 1} ...F${i - 1} }\n`;
      sock.send({ id: 'bomb', type: 'subscribe', payload: { query: doc } });
      const bomb = await sock.next((m) => m.id === 'bomb');
      assert.deepEqual(frameCodes(bomb), ['BAD_USER_INPUT']);
      assert.ok(sock.open);
    } finally {
      sock.close();
    }
  });

  test('more subscriptions on one connection than allowed: BAD_USER_INPUT TOO_MANY_SUBSCRIPTIONS', async () => {
    // A job big enough to be paused before it ends: its subscriptions stay open.
    const job = await aliceJob(texturedImage(128, 96, 3), discMask(128, 96, 60, 50, 30), { seed: 1, maxIterations: 200 });
    const paused = await gql<{ pauseJob: Job }>(url, `mutation { pauseJob(id: "${job.id}") { id status } }`, {}, ALICE);
    assert.ok(['PAUSED', 'RUNNING', 'QUEUED'].includes(paused.data?.pauseJob.status ?? ''), JSON.stringify(paused));
    const sock = new RawSocket();
    try {
      await sock.init();
      // Exactly the allowed number is served (each gets the current state and stays open) ...
      for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) {
        sock.send({ id: `s${i}`, type: 'subscribe', payload: { query: WATCH, variables: { id: job.id } } });
        const first = await sock.next((m) => m.id === `s${i}`);
        assert.equal(first.type, 'next', JSON.stringify(first));
        assert.deepEqual(frameCodes(first), []);
      }
      // ... and one more is refused, on a connection that stays up.
      sock.send({ id: 'extra', type: 'subscribe', payload: { query: WATCH, variables: { id: job.id } } });
      const refused = await sock.next((m) => m.id === 'extra');
      assert.equal(refused.type, 'error');
      assert.deepEqual(frameCodes(refused), ['BAD_USER_INPUT']);
      assert.equal(frameReason(refused), 'TOO_MANY_SUBSCRIPTIONS');
      assert.ok(sock.open);
    } finally {
      sock.close();
      await gql(url, `mutation { cancelJob(id: "${job.id}") { id } }`, {}, ALICE);
    }
  });

  test('a socket that never sends connection_init is closed with 4408 (after 10 s)', async () => {
    const sock = new RawSocket();
    assert.ok(await sock.opened);
    const closed = await sock.closedWithin(20_000);
    assert.equal(closed.code, 4408);
  });
});

// ---- blobs ------------------------------------------------------------------------------------

describe('GET /blobs/:id path tricks', () => {
  /** Nothing of the file system or the process ever comes back. */
  function assertNothingLeaks(body: string): void {
    assert.doesNotMatch(body, /root:|"name": ?"patchwork"|PATCHWORK_|node_modules|BEGIN [A-Z ]*PRIVATE KEY/);
  }

  test('../ and encoded %2e%2e: 400 INVALID_BLOB_ID or 404, nothing read', async () => {
    for (const path of ['/blobs/../package.json', '/blobs/../../../../etc/passwd', '/blobs/..%2F..%2Fetc%2Fpasswd', '/blobs/%2e%2e', '/blobs/%2e%2e%2f%2e%2e%2fpackage.json', '/blobs/%252e%252e%252fpackage.json', `/blobs/${'a'.repeat(64)}%2F..`, '/blobs/..\\..\\package.json']) {
      const r = await rawGet(path);
      assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
      assertNothingLeaks(r.body);
    }
    const r = await rawGet('/blobs/%2e%2e%2f%2e%2e%2fpackage.json');
    assert.equal(r.status, 400);
    assert.match(r.body, /INVALID_BLOB_ID/);
  });

  test('absolute paths and absolute-form URLs: 400 or 404, nothing read', async () => {
    for (const path of ['/blobs//etc/passwd', '/blobs/%2Fetc%2Fpasswd', '/blobs/file:%2F%2F%2Fetc%2Fpasswd', 'http://127.0.0.1/blobs/../package.json', '//blobs/../package.json', '/blobs/C:%5CWindows%5Cwin.ini']) {
      const r = await rawGet(path);
      assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
      assertNothingLeaks(r.body);
    }
  });

  test('overlong ids: 400 INVALID_BLOB_ID; an overlong request line: 414/431, no crash', async () => {
    for (const id of ['a'.repeat(65), 'a'.repeat(10_000), `${'a'.repeat(64)}.png`, 'A'.repeat(64)]) {
      const r = await rawGet(`/blobs/${id}`);
      assert.equal(r.status, 400);
      assert.match(r.body, /INVALID_BLOB_ID/);
    }
    const huge = await rawGet(`/blobs/${'a'.repeat(100_000)}`);
    assert.ok([400, 414, 431].includes(huge.status), String(huge.status));
  });

  test('a null byte and other control characters: 400, nothing read', async () => {
    for (const path of ['/blobs/%00', `/blobs/${'a'.repeat(63)}%00`, `/blobs/${'a'.repeat(64)}%00.png`, '/blobs/%0d%0aSet-Cookie:%20x=1']) {
      const r = await rawGet(path);
      assert.equal(r.status, 400, path);
      assert.doesNotMatch(r.body, /^Set-Cookie/m);
    }
  });

  test('blobs without a token or with a wrong one: 401; a well-formed unknown id: 404', async () => {
    assert.equal((await download(url, `/blobs/${'0'.repeat(64)}`)).status, 401);
    assert.equal((await download(url, `/blobs/${'0'.repeat(64)}`, 'abuse-nobody-token-99')).status, 401);
    const unknown = await download(url, `/blobs/${'0'.repeat(64)}`, ALICE);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  });
});

// ---- the good job -----------------------------------------------------------------------------

describe('meanwhile', () => {
  test('clients that trickle their headers (slowloris) are answered 408 at the 20 s headers deadline, and blocked nobody', async () => {
    for (const { answer, afterMs } of await Promise.all(slowHeaders)) {
      assert.match(answer, /^HTTP\/1\.1 408/, answer.slice(0, 100));
      assert.ok(afterMs >= HEADERS_TIMEOUT_MS - 500 && afterMs < HEADERS_TIMEOUT_MS + 5_000, `cut after ${afterMs} ms`);
    }
  });

  test('the good job ran through all of it, every run complete and byte-identical to the reference', async () => {
    const runs = await good.stop();
    assert.ok(runs.length >= 2, `good job ran ${runs.length} times alongside the abuse`);
    console.log(`# the good job ran ${runs.length} times alongside the abuse; gateway RSS ${rssAtStartMB} MB after the reference run, ${await gatewayRssMB()} MB at the end`);
    // Each run is a job of its own (no idempotency key), not the reference served again.
    assert.equal(new Set(runs.map((r) => r.jobId)).size, runs.length);
    for (const [i, run] of runs.entries()) {
      assert.equal(run.status, 'COMPLETED', `run ${i}: ${run.error}`);
      assert.ok(run.bytes!.equals(reference), `run ${i}: bytes equal the reference run`);
    }
  });
});
