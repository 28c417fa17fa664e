// Reading a whole KV bucket in one pass: a watch over the bucket's last values, read up to the
// bucket's last stream sequence at the start, instead of listing keys and fetching each (one
// request per key). (The watch's per-message pending count is not a reliable end marker on
// nats-server 2.9 while keys are being written: it can stay above 0 for the last entry.)
import { StorageType } from '@nats-io/jetstream';
import { KvWatchInclude, type KV, type KvEntry, type KvOptions } from '@nats-io/kv';
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

/** The current value of every key (deleted keys left out). */
export async function readAllEntries(kv: KV, timeoutMs = 10_000): Promise<KvEntry[]> {
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
