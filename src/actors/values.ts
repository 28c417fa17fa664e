// User values in events: small ones inline as msgpack bytes, large ones (above 64 KB encoded) in
// the content-addressed blob store with only the ref in the event, so no event approaches the
// NATS payload limit and a history stays cheap to read.
import type { BlobStore } from '../common/blob-store.ts';
import { CodedError } from '../common/errors.ts';
import { decodeValue, encodeValue } from './codec.ts';
import type { StoredValue } from './events.ts';

export const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;

export class ValueStore {
  readonly inlineMaxBytes: number;
  readonly #blobs: BlobStore;

  constructor(blobs: BlobStore, inlineMaxBytes = DEFAULT_INLINE_MAX_BYTES) {
    this.#blobs = blobs;
    this.inlineMaxBytes = inlineMaxBytes;
  }

  get blobs(): BlobStore {
    return this.#blobs;
  }

  /**
   * Encodes a value for an event. Returns synchronously when it fits inline (the hot path),
   * a promise when it must be offloaded first.
   */
  store(value: unknown): StoredValue | Promise<StoredValue> {
    return this.prepare(value).stored;
  }

  /** Like store, and also returns the encoded bytes (the runtime delivers their decoded copy). */
  prepare(value: unknown): { bytes: Uint8Array; stored: StoredValue | Promise<StoredValue> } {
    let bytes: Uint8Array;
    try {
      bytes = encodeValue(value);
    } catch (err) {
      throw new CodedError('VALUE_NOT_SERIALIZABLE', `a value cannot be encoded with msgpack (${(err as Error).message}); pass plain data: objects, arrays, strings, numbers, booleans, null, Uint8Array, Date.`, { cause: err });
    }
    if (bytes.length <= this.inlineMaxBytes) return { bytes, stored: { v: bytes } };
    return { bytes, stored: this.#blobs.put(bytes).then((ref) => ({ ref: ref.id, size: ref.size })) };
  }

  /** Decodes a stored value, fetching (and verifying) its blob if it was offloaded. */
  async load(stored: StoredValue): Promise<unknown> {
    if (stored.ref !== undefined) return decodeValue(await this.#blobs.get(stored.ref));
    return stored.v === undefined ? undefined : decodeValue(stored.v);
  }
}

/** Decodes an inline value; a ref here means the caller forgot to resolve blobs first. */
export function loadInline(stored: StoredValue): unknown {
  if (stored.ref !== undefined) {
    throw new CodedError('INTERNAL', `value ${stored.ref} is a blob ref that was not resolved before use`);
  }
  return stored.v === undefined ? undefined : decodeValue(stored.v);
}
