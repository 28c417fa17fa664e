// Which tenant a blob belongs to: one KV entry per (tenant, blob id). Blobs are content-addressed
// and shared (two tenants uploading the same bytes store them once), so ownership is recorded
// beside them, per tenant: the uploads registry (value: the image's size and type) and the
// outputs registry (value: the job that made the preview or result).
import type { KV } from '@nats-io/kv';
import { BLOB_ID_PATTERN } from '../../common/blob-store.ts';
import { getFromLeader } from '../../common/kv.ts';
import { tenantKey } from './tenants.ts';

export class TenantBlobRegistry<T> {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  static key(tenant: string, blobId: string): string {
    return `${tenantKey(tenant)}.${blobId}`;
  }

  async put(tenant: string, blobId: string, value: T): Promise<void> {
    await this.#kv.put(TenantBlobRegistry.key(tenant, blobId), JSON.stringify(value));
  }

  /** null when the tenant has no such blob (or the id is not a blob id at all). */
  async get(tenant: string, blobId: string): Promise<T | null> {
    if (typeof blobId !== 'string' || !BLOB_ID_PATTERN.test(blobId)) return null;
    const key = TenantBlobRegistry.key(tenant, blobId);
    const e = await this.#kv.get(key);
    if (e) return e.operation === 'PUT' ? e.json<T>() : null;
    // A miss from a replica that is catching up (NATS restarts) would answer 404 for a result
    // the job has just registered: confirm it with the stream's leader.
    const bytes = await getFromLeader(this.#kv, key);
    return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as T) : null;
  }
}
