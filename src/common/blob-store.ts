// Content-addressed blobs in the JetStream Object Store: a blob's id is the SHA-256 of its bytes
// (lower-case hex), so equal bytes are stored once, any process can check what it read, and an
// id in an event is a promise about exact content. Images, NNFs and large event values live here.
//
// Reads fetch the object's chunks one by one from the stream leader (a message get by subject
// from the previous chunk's sequence) instead of through the Object Store's `get`, which creates
// an ordered consumer per read. After one server of a three-server cluster dies, nats-server 2.9
// keeps placing some new consumers on the dead server for minutes, so about one consumer-based
// read in three timed out and a job's kernel steps (several blob reads each) stalled for a minute
// or more; message gets are answered by the stream's (re-elected) leader at once.
//
// Both are first tried as direct gets (`$JS.API.DIRECT.GET`, the Object Store's streams allow
// them): the answer is the message itself, raw bytes and headers, where the message get through
// the JetStream API answers JSON with the payload in base64 (a ~1.33x larger answer, decoded with
// `atob` and `JSON.parse`: ~30 ms of a kernel node's main thread per 1024x768 fill, V8 profile).
// A direct get may be answered by a replica that has not caught up yet, so anything it does not
// find (or any error) is read again through the leader's message get, as before; what it finds
// is the content-addressed bytes, checked against the id like every read.
//
// Writes publish the object's chunks and then its metadata straight to the bucket's stream, in
// the Object Store's own layout (chunk subject per upload, metadata rolled up per name, SHA-256
// digest), instead of the Object Store's `putBlob`: that one first reads the object's info (a
// round trip, on top of ours), hashes the bytes again, and waits for each chunk's ack before
// sending the next. Here the chunks go out back to back, their acks are awaited together, the
// digest is the id we already computed, and "stored once" costs no round trip: the metadata is
// published on the condition that its subject is empty (expected last subject sequence 0), so a
// blob that is already there makes that publish fail, and our chunks are purged again.
import { createHash, randomBytes } from 'node:crypto';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Objm, StorageType, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import { CodedError } from './errors.ts';

export const BLOB_ID_PATTERN = /^[0-9a-f]{64}$/;

export interface BlobRef {
  id: string;
  size: number;
}

export interface BlobStoreOptions {
  bucket: string;
  /** Drop blobs this long after they were written (the Object Store counts in nanoseconds). */
  ttlMs?: number;
  replicas?: number;
  /** Default file. */
  storage?: 'file' | 'memory';
}

export function blobIdOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function assertBlobId(id: string): void {
  if (typeof id !== 'string' || !BLOB_ID_PATTERN.test(id)) {
    throw new CodedError('INVALID_BLOB_ID', `blob id '${String(id)}' is not valid: a blob id is the 64-character lower-case hex SHA-256 of the blob's bytes.`);
  }
}

/** Largest chunk we write (the reader reads any chunk size; at most the server's max payload). */
const MAX_CHUNK = 1024 * 1024;

/** Base64url with padding, as the Object Store encodes names in subjects and digests. */
const base64UrlPadded = (b: Buffer): string => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

export class BlobStore {
  readonly bucket: string;
  readonly #nc: NatsConnection;
  readonly #os: ObjectStore;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;

  private constructor(bucket: string, nc: NatsConnection, os: ObjectStore, jsm: JetStreamManager) {
    this.bucket = bucket;
    this.#nc = nc;
    this.#os = os;
    this.#js = jetstream(nc);
    this.#jsm = jsm;
  }

  /** Opens the bucket, creating it if needed. */
  static async open(nc: NatsConnection, opts: BlobStoreOptions): Promise<BlobStore> {
    const objm = new Objm(nc);
    const os = await objm.create(opts.bucket, {
      storage: opts.storage === 'memory' ? StorageType.Memory : StorageType.File,
      replicas: opts.replicas ?? 1,
      ...(opts.ttlMs ? { ttl: opts.ttlMs * 1_000_000 } : {}),
    });
    return new BlobStore(opts.bucket, nc, os, await jetstreamManager(nc));
  }

  /**
   * Stores bytes (once: a blob already present is not written again) and returns its ref.
   * `id`: the caller's own `blobIdOf(bytes)` when it already has it (a kernel node hashes each
   * result batch once, for its push and its store); never an id from elsewhere.
   */
  async put(bytes: Uint8Array, id: string = blobIdOf(bytes)): Promise<BlobRef> {
    const stream = `OBJ_${this.bucket}`;
    const nuid = randomBytes(12).toString('hex');
    const chunkSubject = `$O.${this.bucket}.C.${nuid}`;
    const chunkSize = Math.min(MAX_CHUNK, this.#nc.info?.max_payload ?? MAX_CHUNK);
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < bytes.length; o += chunkSize) chunks.push(bytes.subarray(o, Math.min(bytes.length, o + chunkSize)));
    const purgeChunks = (): Promise<unknown> => this.#jsm.streams.purge(stream, { filter: chunkSubject }).catch(() => undefined);
    try {
      await Promise.all(chunks.map((c) => this.#js.publish(chunkSubject, c)));
    } catch (e) {
      await purgeChunks();
      throw e;
    }
    const meta = {
      name: id,
      description: '',
      options: { max_chunk_size: chunkSize },
      bucket: this.bucket,
      nuid,
      size: bytes.length,
      chunks: chunks.length,
      mtime: new Date().toISOString(),
      digest: `SHA-256=${base64UrlPadded(Buffer.from(id, 'hex'))}`,
      deleted: false,
    };
    const h = headers();
    h.set('Nats-Rollup', 'sub');
    h.set('Nats-Expected-Last-Subject-Sequence', '0');
    const metaSubject = this.#metaSubject(id);
    try {
      await this.#js.publish(metaSubject, JSON.stringify(meta), { headers: h });
    } catch (e) {
      // Either the name has metadata already (the blob is stored, or it was deleted), or the
      // publish failed or its ack was lost. Look before purging anything: metadata naming our
      // chunks means our write went through, and its chunks must stay.
      const existing = await this.#os.info(id);
      if (existing && !existing.deleted && existing.nuid === nuid) return { id, size: bytes.length };
      // No metadata yet: the publish may still have been stored (a lost ack while the stream's
      // leader moves). Our chunks are kept: purging them could leave metadata that names chunks
      // which are gone, a blob broken for good. If the publish really failed they are orphans,
      // which the bucket's max age (if any) removes; the caller's retry writes a fresh upload.
      if (!existing) throw e;
      if (existing.deleted) {
        // The Object Store's own put replaces a deleted object.
        await purgeChunks();
        await this.#os.putBlob({ name: id }, bytes);
        return { id, size: bytes.length };
      }
      if (await this.#chunksComplete(existing)) {
        await purgeChunks();
        return { id, size: bytes.length };
      }
      // The metadata names an upload whose chunks are gone (data lost, or a writer of an older
      // version purged them after a lost ack): point it at ours instead, so the blob heals.
      const repair = headers();
      repair.set('Nats-Rollup', 'sub');
      await this.#js.publish(metaSubject, JSON.stringify(meta), { headers: repair });
    }
    return { id, size: bytes.length };
  }

  /** Whether every chunk the object's metadata counts is in the stream (one stream-info request). */
  async #chunksComplete(info: ObjectInfo): Promise<boolean> {
    if (info.chunks === 0) return true;
    const subject = `$O.${this.bucket}.C.${info.nuid}`;
    const si = await this.#jsm.streams.info(`OBJ_${this.bucket}`, { subjects_filter: subject });
    return (si.state.subjects?.[subject] ?? 0) >= info.chunks;
  }

  /** Reads a blob and checks its bytes against its id. */
  async get(id: string): Promise<Uint8Array> {
    assertBlobId(id);
    const bytes = (await this.#readDirect(id)) ?? (await this.#readFromLeader(id));
    if (!bytes) {
      throw new CodedError('BLOB_NOT_FOUND', `blob ${id} is not in bucket '${this.bucket}': it was never stored here, or it expired or was deleted. Upload it again, or check that writer and reader use the same bucket.`, {
        details: { id, bucket: this.bucket },
      });
    }
    const actual = blobIdOf(bytes);
    if (actual !== id) {
      throw new CodedError('BLOB_CORRUPT', `blob ${id} in bucket '${this.bucket}' reads back with SHA-256 ${actual}: the stored bytes are damaged. Delete the blob and store it again from its source.`, {
        details: { id, actual, bucket: this.bucket },
      });
    }
    return bytes;
  }

  /** The blob's bytes through direct gets (metadata, then chunks); null when any part is not found there, or on any error. */
  async #readDirect(id: string): Promise<Uint8Array | null> {
    try {
      const stream = `OBJ_${this.bucket}`;
      const m = await this.#jsm.direct.getMessage(stream, { last_by_subj: this.#metaSubject(id) });
      if (!m) return null;
      const info = m.json<ObjectInfo>(); // parsed at once, before the buffer moves on
      if (info.deleted) return null;
      // A direct get's data is a view into the connection's read buffer (a Node Buffer, whose
      // `slice` is another view), which later reads reuse: copied at once into a plain array.
      return await this.#readChunks(info, async (q) => {
        const c = await this.#jsm.direct.getMessage(stream, q);
        return c && { data: new Uint8Array(c.data), seq: c.seq };
      });
    } catch {
      return null;
    }
  }

  /** The blob's bytes through the stream leader's message gets; null if it is not there. */
  async #readFromLeader(id: string): Promise<Uint8Array | null> {
    const info = await this.#os.info(id);
    if (!info || info.deleted) return null;
    const stream = `OBJ_${this.bucket}`;
    // `next_by_subj` (nats-server 2.9+) is missing from the client's type for the non-direct get.
    return this.#readChunks(info, (q) => this.#jsm.streams.getMessage(stream, q as unknown as { seq: number }));
  }

  #metaSubject(id: string): string {
    return `$O.${this.bucket}.M.${base64UrlPadded(Buffer.from(id, 'utf8'))}`;
  }

  /** The object's chunks in order, each one get by subject after the previous chunk's sequence; null if one is gone (deleted meanwhile). */
  async #readChunks(info: ObjectInfo, getNext: (q: { next_by_subj: string; seq: number }) => Promise<{ data: Uint8Array; seq: number } | null>): Promise<Uint8Array | null> {
    const subject = `$O.${this.bucket}.C.${info.nuid}`;
    const parts: Uint8Array[] = [];
    let seq = 0;
    for (let i = 0; i < info.chunks; i++) {
      const m = await getNext({ next_by_subj: subject, seq: seq + 1 });
      if (!m) return null;
      parts.push(m.data);
      seq = m.seq;
    }
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  async has(id: string): Promise<boolean> {
    assertBlobId(id);
    const info = await this.#os.info(id);
    return !!info && !info.deleted;
  }

  async delete(id: string): Promise<void> {
    assertBlobId(id);
    const info = await this.#os.info(id);
    if (info && !info.deleted) await this.#os.delete(id);
  }
}
