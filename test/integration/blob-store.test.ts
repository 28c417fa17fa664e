import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { BlobStore } from '../../src/common/blob-store.ts';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { uniqueNamespace } from '../support/actors.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.dispose();
});

/** A fresh connection and a store on a bucket of its own, closed after `body`. */
async function withStore(body: (t: { nc: NatsConnection; bucket: string; store: BlobStore }) => Promise<void>): Promise<void> {
  const nc = await connectNats({ servers: server.url });
  try {
    const bucket = uniqueNamespace('blobs');
    await body({ nc, bucket, store: await BlobStore.open(nc, { bucket }) });
  } finally {
    await nc.close();
  }
}

test('blobs are stored under the SHA-256 of their bytes, once, and read back verified', () =>
  withStore(async ({ store }) => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const ref = await store.put(bytes);
    assert.equal(ref.id, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(ref.size, bytes.length);
    assert.deepEqual(await store.put(bytes), ref);
    assert.equal(await store.has(ref.id), true);
    assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
    await store.delete(ref.id);
    assert.equal(await store.has(ref.id), false);
    await assert.rejects(store.get(ref.id), (e: Error & { code?: string }) => e.code === 'BLOB_NOT_FOUND');
    await assert.rejects(store.get('../etc/passwd'), (e: Error & { code?: string }) => e.code === 'INVALID_BLOB_ID');
  }));

test('a blob whose stored bytes do not match its id is reported as BLOB_CORRUPT', () =>
  withStore(async ({ nc, bucket, store }) => {
    const good = new TextEncoder().encode('the real content');
    const id = createHash('sha256').update(good).digest('hex');
    // write other bytes under that id behind the store's back
    const os = await new Objm(nc).open(bucket);
    await os.putBlob({ name: id }, new TextEncoder().encode('tampered'));
    await assert.rejects(store.get(id), (e: Error & { code?: string }) => e.code === 'BLOB_CORRUPT' && e.message.includes(id));
  }));

test('put writes the Object Store layout itself: the library reads it back, a second put adds no messages, a deleted blob can be stored again', () =>
  withStore(async ({ nc, bucket, store }) => {
    const os = await new Objm(nc).open(bucket);
    const jsm = await jetstreamManager(nc);
    // More than one chunk (chunks are at most 1 MiB), and an empty blob.
    for (const size of [2_500_000, 0]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 13 + 5) % 251);
      const ref = await store.put(bytes);
      const info = await os.info(ref.id);
      assert.equal(info?.size, size);
      assert.equal(info?.digest, `SHA-256=${createHash('sha256').update(bytes).digest('base64url')}=`);
      // The library checks the digest while it reads.
      assert.deepEqual(Buffer.from((await os.getBlob(ref.id))!), Buffer.from(bytes));
      assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
      const messages = (await jsm.streams.info(`OBJ_${bucket}`)).state.messages;
      assert.deepEqual(await store.put(bytes), ref);
      assert.equal((await jsm.streams.info(`OBJ_${bucket}`)).state.messages, messages, 'a second put of the same bytes leaves nothing behind');
      await store.delete(ref.id);
      assert.equal(await store.has(ref.id), false);
      await store.put(bytes);
      assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
    }
  }));

test('a put whose metadata was stored but whose ack was lost keeps its chunks: the blob reads back', () =>
  withStore(async ({ nc, bucket, store }) => {
    // The server stores the metadata; its answer never reaches the writer (as in a failover).
    const request = nc.request.bind(nc);
    let lost = 0;
    nc.request = async (subject, payload, opts) => {
      const reply = await request(subject, payload, opts);
      if (subject.startsWith(`$O.${bucket}.M.`)) {
        lost++;
        throw new Error('TIMEOUT (the ack was lost)');
      }
      return reply;
    };
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 31) % 256);
    const ref = await store.put(bytes);
    assert.equal(lost, 1);
    assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
  }));

test('metadata naming chunks that are gone does not stay broken: the next put of the bytes heals the blob', () =>
  withStore(async ({ nc, bucket, store }) => {
    const os = await new Objm(nc).open(bucket);
    const jsm = await jetstreamManager(nc);
    const bytes = new Uint8Array(1_500_000).map((_, i) => (i * 7 + 3) % 253);
    const ref = await store.put(bytes);
    // The chunks are lost while the metadata stays (what a writer that purged its chunks after
    // a lost metadata ack used to leave behind during a NATS rolling restart).
    const info = await os.info(ref.id);
    await jsm.streams.purge(`OBJ_${bucket}`, { filter: `$O.${bucket}.C.${info!.nuid}` });
    await assert.rejects(store.get(ref.id), (e: { code?: string }) => e.code === 'BLOB_NOT_FOUND');
    assert.deepEqual(await store.put(bytes), ref);
    assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
    // A complete blob is still stored once: a further put leaves nothing behind.
    const messages = (await jsm.streams.info(`OBJ_${bucket}`)).state.messages;
    await store.put(bytes);
    assert.equal((await jsm.streams.info(`OBJ_${bucket}`)).state.messages, messages);
  }));

test('a put whose metadata publish fails with no metadata to be found keeps its chunks and fails (retryable by the caller)', () =>
  withStore(async ({ nc, bucket, store }) => {
    const jsm = await jetstreamManager(nc);
    // The metadata publish never reaches the server and its answer is a timeout: the writer
    // cannot tell whether it was stored, so it must not purge chunks the metadata might name.
    const request = nc.request.bind(nc);
    let dropped = 0;
    nc.request = async (subject, payload, opts) => {
      if (subject.startsWith(`$O.${bucket}.M.`) && dropped === 0) {
        dropped++;
        throw new Error('TIMEOUT (no answer)');
      }
      return request(subject, payload, opts);
    };
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 17) % 256);
    await assert.rejects(store.put(bytes), /TIMEOUT/);
    assert.equal((await jsm.streams.info(`OBJ_${bucket}`)).state.messages, 1, 'the chunk stays');
    const ref = await store.put(bytes);
    assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
  }));

test('reads are direct gets (raw bytes, no base64 JSON); when direct gets fail or find nothing, the leader\'s message gets read the blob', () =>
  withStore(async ({ nc, store }) => {
    const bytes = new Uint8Array(2_500_000).map((_, i) => (i * 11 + 1) % 249);
    const ref = await store.put(bytes);
    const request = nc.request.bind(nc);
    const seen: string[] = [];
    let direct: 'answer' | 'fail' | 'not found' = 'answer';
    nc.request = async (subject, payload, opts) => {
      seen.push(subject);
      if (subject.includes('.DIRECT.GET.') && direct === 'fail') throw new Error('no responders (direct gets off)');
      // A replica that has not caught up: asked for the metadata, it has none yet.
      if (subject.includes('.DIRECT.GET.') && direct === 'not found') return request(subject.replace(/\.M\.[^.]+$/, '.M.bm90LXRoZXJl'), payload, opts);
      return request(subject, payload, opts);
    };
    const count = (part: string): number => seen.filter((s) => s.includes(part)).length;
    const read = await store.get(ref.id);
    assert.deepEqual(Buffer.from(read), Buffer.from(bytes));
    assert.equal(read.byteOffset, 0, 'a plain array of its own (decoders view its buffer)');
    assert.equal(read.buffer.byteLength, bytes.length);
    // What a read returned is its own: later reads on the connection do not change it.
    const small = new Uint8Array(1000).map((_, i) => (i * 3 + 7) % 256);
    const first = await store.get((await store.put(small)).id);
    assert.equal(first.buffer.byteLength, small.length, 'one chunk: a copy of its own, not a view into the connection\'s buffer');
    await Promise.all([store.get(ref.id), store.get(ref.id)]);
    assert.deepEqual(Buffer.from(first), Buffer.from(small));
    assert.deepEqual(Buffer.from(read), Buffer.from(bytes));
    seen.length = 0;
    assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
    assert.equal(count('.DIRECT.GET.'), 4, 'metadata and three chunks, each one direct get');
    assert.equal(count('.STREAM.MSG.GET.'), 0);
    for (const mode of ['fail', 'not found'] as const) {
      direct = mode;
      seen.length = 0;
      assert.deepEqual(Buffer.from(await store.get(ref.id)), Buffer.from(bytes));
      assert.ok(count('.STREAM.MSG.GET.') >= 4, `${mode}: read through the leader (${seen.join(', ')})`);
    }
  }));
