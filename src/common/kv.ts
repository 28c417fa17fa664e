// Reading a whole KV bucket in one pass: a watch over the bucket's last values, read up to the
// bucket's last stream sequence at the start, instead of listing keys and fetching each (one
// request per key). (The watch's per-message pending count is not a reliable end marker on
// nats-server 2.9 while keys are being written: it can stay above 0 for the last entry.)
//
// A watch needs a consumer, and for minutes after one server of a cluster dies nats-server 2.9
// keeps placing some new consumers on the dead server. So every whole-bucket read here also has
// a way without any consumer: the keys from the stream's per-subject counts (a stream info
// request) and each value by a message get, both answered by the stream leader.
import { StorageType } from '@nats-io/jetstream';
import { Bucket, KvWatchInclude, type KV, type KvEntry, type KvOptions } from '@nats-io/kv';
import { CodedError } from './errors.ts';

/**
 * Options of a KV bucket whose reads must see the writes before them (leases, the instance index,
 * uploads, outputs, admission): one value per key, file storage, `replicas` copies. With more than
 * one replica, direct gets are turned off: a direct get may be answered by a follower that has
 * not applied the latest write yet, so a value just written can read as missing (a fresh upload
 * refused as "not an upload of yours"; nats-server issue 6557). Without them reads go to the
 * stream leader. (A client that opens a bucket created earlier with direct gets on still reads
 * through the leader: the option only ever turns direct gets off on the client side.)
 */
export function consistentBucketOptions(replicas: number): Partial<KvOptions> {
  return { history: 1, replicas, storage: StorageType.File, ...(replicas > 1 ? { allow_direct: false } : {}) };
}

/**
 * The current value of every key (deleted keys left out): by a watch, or, when the watch fails or
 * does not finish within `watchMs`, key by key without a consumer (see the top of this file).
 */
export async function readAllEntries(kv: KV, watchMs = 3_000): Promise<KvEntry[]> {
  // The whole watch (making its consumer included) gets `watchMs`; one that is late is left to
  // stop itself by its own deadline.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), watchMs)));
  const byWatch = readAllEntriesByWatch(kv, watchMs * 2).catch(() => null);
  try {
    return (await Promise.race([byWatch, late])) ?? (await readAllEntriesByGets(kv));
  } finally {
    clearTimeout(timer);
  }
}

/** Keys that have a message in the bucket's stream (deleted keys included: their markers count). */
export async function listKeysWithoutConsumer(kv: KV): Promise<string[]> {
  if (!(kv instanceof Bucket)) throw new CodedError('KV_UNSUPPORTED', 'listing keys without a consumer needs a JetStream KV bucket (Kvm.create / Kvm.open).');
  const info = await kv.jsm.streams.info(kv.stream, { subjects_filter: `${kv.prefix}.>` });
  const start = kv.prefix.length + 1;
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(start));
}

/** Every current value, one message get per key: slower than a watch, but needs no consumer. */
export async function readAllEntriesByGets(kv: KV, parallel = 16): Promise<KvEntry[]> {
  const keys = await listKeysWithoutConsumer(kv);
  const out: KvEntry[] = [];
  for (let i = 0; i < keys.length; i += parallel) {
    const got = await Promise.all(keys.slice(i, i + parallel).map((k) => kv.get(k)));
    for (const e of got) if (e && e.operation === 'PUT') out.push(e);
  }
  return out;
}

/** The current value of every key (deleted keys left out), through one watch. */
export async function readAllEntriesByWatch(kv: KV, timeoutMs = 10_000): Promise<KvEntry[]> {
  const status = await kv.status();
  const lastSeq = status.streamInfo.state.last_seq;
  if (status.values === 0 || lastSeq === 0) return [];
  const latest = new Map<string, KvEntry>();
  const watcher = await kv.watch({ include: KvWatchInclude.LastValue });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    watcher.stop();
  }, timeoutMs);
  try {
    for await (const e of watcher) {
      latest.set(e.key, e);
      // The message at lastSeq is the newest of its key, so the watch delivers it; everything
      // older that is still current came before it.
      if (e.revision >= lastSeq) break;
    }
  } finally {
    clearTimeout(timer);
    watcher.stop();
  }
  if (timedOut) {
    throw new CodedError('KV_READ_TIMEOUT', `reading KV bucket '${status.bucket}' did not reach its last revision ${lastSeq} within ${timeoutMs} ms; try again (is the server overloaded?).`, {
      retryable: true,
    });
  }
  return [...latest.values()].filter((e) => e.operation === 'PUT');
}

/**
 * A key's current value read from the bucket stream's leader. `kv.get` uses a direct get, which
 * any replica may answer: one that is still catching up after a server restart misses a value
 * written a moment ago. Use this to confirm a miss that matters (an answer of "not found").
 * null when the key has no value (never written, deleted or purged).
 */
export async function getFromLeader(kv: KV, key: string): Promise<Uint8Array | null> {
  if (!(kv instanceof Bucket)) throw new CodedError('KV_UNSUPPORTED', 'reading from the leader needs a JetStream KV bucket (Kvm.create / Kvm.open).');
  const m = await kv.jsm.streams.getMessage(kv.stream, { last_by_subj: `${kv.prefix}.${key}` });
  if (!m) return null;
  const op = m.header?.get('KV-Operation');
  return op === 'DEL' || op === 'PURGE' ? null : m.data;
}
