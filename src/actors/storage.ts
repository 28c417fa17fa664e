// Opens (and on first use creates) everything the runtime stores in JetStream for a namespace:
// the history stream, the lease and index KV buckets, and the blob Object Store.
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BlobStore } from '../common/blob-store.ts';
import { CodedError } from '../common/errors.ts';
import { consistentBucketOptions } from '../common/kv.ts';
import { patchworkNames, type PatchworkNames } from '../common/names.ts';
import { InstanceIndex } from './instance-index.ts';
import { DEFAULT_INLINE_MAX_BYTES, ValueStore } from './values.ts';

export interface StorageOptions {
  namespace?: string;
  names?: PatchworkNames;
  /** Stream and bucket replicas (3 in production clusters). Default 1. */
  replicas?: number;
  /** Values above this many encoded bytes go to the blob store. Default 64 KB. */
  inlineMaxBytes?: number;
  /** Share a blob store opened elsewhere. */
  blobs?: BlobStore;
}

export interface ActorStorage {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: PatchworkNames;
  leaseKv: KV;
  indexKv: KV;
  index: InstanceIndex;
  values: ValueStore;
}

export async function openActorStorage(nc: NatsConnection, opts: StorageOptions = {}): Promise<ActorStorage> {
  const names = opts.names ?? patchworkNames(opts.namespace);
  const replicas = opts.replicas ?? 1;
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const existing = await jsm.streams.info(names.stream).catch(() => undefined);
    if (!existing) {
      await jsm.streams.add({
        name: names.stream,
        subjects: [...names.streamSubjects],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        num_replicas: replicas,
        // Msg-id de-duplication covers publish retries across a server restart or failover.
        duplicate_window: 120_000_000_000,
      });
    }
    const kvm = new Kvm(nc);
    const [leaseKv, indexKv, blobs] = await Promise.all([
      kvm.create(names.leaseBucket, consistentBucketOptions(replicas)),
      kvm.create(names.indexBucket, consistentBucketOptions(replicas)),
      opts.blobs ? Promise.resolve(opts.blobs) : BlobStore.open(nc, { bucket: names.blobBucket, replicas }),
    ]);
    return { nc, js, jsm, names, leaseKv, indexKv, index: new InstanceIndex(indexKv), values: new ValueStore(blobs, opts.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES) };
  } catch (err) {
    if (err instanceof CodedError) throw err;
    throw new CodedError(
      'STORAGE_UNAVAILABLE',
      `cannot open the actor runtime's JetStream storage for namespace '${names.namespace}': ${(err as Error).message}. Check that nats-server runs with JetStream enabled (-js) and has room in its store.`,
      { retryable: true, cause: err },
    );
  }
}
