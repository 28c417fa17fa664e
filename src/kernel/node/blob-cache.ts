// The node's blob cache: verified blob bytes in memory, least recently used first out, bounded
// in bytes. A blob enters it when the node reads it from the Object Store (BlobStore.get checks
// the hash), when the node writes it, or when a peer pushes it (result hints: hashed here before
// it is kept). A read of a blob a peer is about to push waits a moment for the push before going
// to the store.
import { blobIdOf, type BlobRef, type BlobStore } from '../../common/blob-store.ts';

export interface BlobCacheStats {
  hits: number;
  misses: number;
  /** Blobs that arrived from peers (hints) and were kept. */
  pushed: number;
  /** Pushed blobs whose bytes did not hash to their id (dropped). */
  rejected: number;
  evictions: number;
  bytesRead: number;
  bytesWritten: number;
}

export interface BlobRead {
  bytes: Uint8Array;
  /** True when the bytes were in memory (or arrived by push while waiting). */
  hit: boolean;
}

export class BlobCache {
  readonly maxBytes: number;
  readonly stats: BlobCacheStats = { hits: 0, misses: 0, pushed: 0, rejected: 0, evictions: 0, bytesRead: 0, bytesWritten: 0 };
  readonly #store: BlobStore;
  readonly #entries = new Map<string, Uint8Array>();
  readonly #reads = new Map<string, Promise<Uint8Array>>();
  readonly #waiters = new Map<string, ((bytes: Uint8Array) => void)[]>();
  #bytes = 0;

  constructor(store: BlobStore, maxBytes: number) {
    this.#store = store;
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#entries.size;
  }

  /** The bytes if held, without counting a read or refreshing the entry. */
  peek(id: string): Uint8Array | undefined {
    return this.#entries.get(id);
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /**
   * The blob's bytes: from memory, else from the Object Store. With `pushWaitMs` > 0, a missing
   * blob is first awaited that long from peers (the store read starts when the wait ends).
   */
  async get(id: string, pushWaitMs = 0): Promise<BlobRead> {
    const cached = this.#touch(id);
    if (cached) {
      this.stats.hits++;
      return { bytes: cached, hit: true };
    }
    if (pushWaitMs > 0) {
      const pushed = await this.#waitForPush(id, pushWaitMs);
      if (pushed) {
        this.stats.hits++;
        return { bytes: pushed, hit: true };
      }
    }
    let read = this.#reads.get(id);
    if (!read) {
      read = this.#store.get(id).then((bytes) => {
        this.stats.bytesRead += bytes.length;
        this.#insert(id, bytes);
        return bytes;
      });
      read.finally(() => this.#reads.delete(id)).catch(() => undefined);
      this.#reads.set(id, read);
    }
    this.stats.misses++;
    return { bytes: await read, hit: false };
  }

  /**
   * Stores bytes in the Object Store and, with `keep`, keeps them here (outputs nobody reads back
   * are not kept). `id`: `blobIdOf(bytes)` if the caller computed it already (see BlobStore.put).
   */
  async put(bytes: Uint8Array, keep = true, id?: string): Promise<BlobRef> {
    const ref = await this.#store.put(bytes, id);
    this.stats.bytesWritten += bytes.length;
    if (keep) this.#insert(ref.id, bytes);
    return ref;
  }

  /**
   * Keeps bytes this node made and did not store (a team run's intermediate results: peers that
   * ask again are answered from here). `id`: the caller's own `blobIdOf(bytes)`.
   */
  hold(id: string, bytes: Uint8Array): void {
    this.#insert(id, bytes);
  }

  /** Keeps bytes a peer pushed, if they hash to `id`; returns whether they were kept. */
  offer(id: string, bytes: Uint8Array): boolean {
    if (this.#entries.has(id)) return true;
    if (blobIdOf(bytes) !== id) {
      this.stats.rejected++;
      return false;
    }
    this.stats.pushed++;
    this.#insert(id, bytes);
    return true;
  }

  #waitForPush(id: string, ms: number): Promise<Uint8Array | null> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(id) ?? [];
      const waiter = (bytes: Uint8Array): void => {
        clearTimeout(timer);
        resolve(bytes);
      };
      const timer = setTimeout(() => {
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0 && this.#waiters.get(id) === list) this.#waiters.delete(id);
        resolve(null);
      }, ms);
      list.push(waiter);
      this.#waiters.set(id, list);
    });
  }

  #touch(id: string): Uint8Array | undefined {
    const bytes = this.#entries.get(id);
    if (bytes) {
      this.#entries.delete(id);
      this.#entries.set(id, bytes);
    }
    return bytes;
  }

  #insert(id: string, bytes: Uint8Array): void {
    const waiters = this.#waiters.get(id);
    if (waiters) {
      this.#waiters.delete(id);
      for (const w of waiters) w(bytes);
    }
    if (this.#entries.has(id)) return;
    if (bytes.length > this.maxBytes) return;
    this.#entries.set(id, bytes);
    this.#bytes += bytes.length;
    for (const [old, b] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(old);
      this.#bytes -= b.length;
      this.stats.evictions++;
    }
  }
}
