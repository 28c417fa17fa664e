import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Objm } from '@nats-io/obj';
import { BlobStore } from '../../src/common/blob-store.ts';
import { connectNats } from '../../src/common/nats.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { uniqueNamespace } from '../support/actors.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.dispose();
});

test('blobs are stored under the SHA-256 of their bytes, once, and read back verified', async () => {
  const nc = await connectNats({ servers: server.url });
  try {
    const store = await BlobStore.open(nc, { bucket: uniqueNamespace('blobs') });
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
  } finally {
    await nc.close();
  }
});

test('a blob whose stored bytes do not match its id is reported as BLOB_CORRUPT', async () => {
  const nc = await connectNats({ servers: server.url });
  try {
    const bucket = uniqueNamespace('blobs');
    const store = await BlobStore.open(nc, { bucket });
    const good = new TextEncoder().encode('the real content');
    const id = createHash('sha256').update(good).digest('hex');
    // write other bytes under that id behind the store's back
    const os = await new Objm(nc).open(bucket);
    await os.putBlob({ name: id }, new TextEncoder().encode('tampered'));
    await assert.rejects(store.get(id), (e: Error & { code?: string }) => e.code === 'BLOB_CORRUPT' && e.message.includes(id));
  } finally {
    await nc.close();
  }
});
