// Reading a whole KV bucket in one pass: a watch over the bucket's last values, read until the
// server reports nothing pending, instead of listing keys and fetching each (one request per key).
import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';

/** The current value of every key (deleted keys left out). */
export async function readAllEntries(kv: KV): Promise<KvEntry[]> {
  const status = await kv.status();
  if (status.values === 0) return [];
  const out: KvEntry[] = [];
  const watcher = await kv.watch({ include: KvWatchInclude.LastValue });
  try {
    for await (const e of watcher) {
      if (e.operation === 'PUT') out.push(e);
      if (e.delta === 0) break;
    }
  } finally {
    watcher.stop();
  }
  return out;
}
