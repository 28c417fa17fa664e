// The live kernel nodes, from a watch on the node bucket. A node is live while its record keeps
// changing: one not rewritten for three heartbeats (its own interval) is taken as gone, whether
// it was killed or partitioned. A node the client saw fail (connection refused, draining) is
// set aside until its next heartbeat arrives, so calls stop going to a dead node at once.
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decodeNodeRecord, type NodeRecord } from '../cluster/registry.ts';

export interface LiveNode extends NodeRecord {
  /** Local time (ms) the latest record arrived. */
  seenAt: number;
}

/** Heartbeats a node may miss before it is taken as gone. */
const MISSED_BEATS = 3;

export class NodeSet {
  readonly #nodes = new Map<string, LiveNode>();
  /** Node id -> local time it was set aside; cleared by a newer heartbeat. */
  readonly #suspects = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  readonly #watch: QueuedIterator<KvWatchEntry>;
  readonly #log: Logger | undefined;
  readonly #done: Promise<void>;

  private constructor(watch: QueuedIterator<KvWatchEntry>, log: Logger | undefined) {
    this.#watch = watch;
    this.#log = log;
    this.#done = this.#follow();
  }

  static async watch(kv: KV, log?: Logger): Promise<NodeSet> {
    const set = new NodeSet(await kv.watch({ key: '>' }), log);
    return set;
  }

  async #follow(): Promise<void> {
    for await (const e of this.#watch) {
      if (e.operation !== 'PUT') {
        this.#nodes.delete(e.key);
        this.#suspects.delete(e.key);
      } else {
        const r = decodeNodeRecord(e.value);
        if (!r) {
          this.#log?.warn({ key: e.key }, 'ignoring a node record that does not parse');
          continue;
        }
        // Records from before the watch started carry their own age (server time).
        const now = Date.now();
        const seenAt = e.isUpdate ? now : Math.min(now, e.created.getTime());
        this.#nodes.set(r.id, { ...r, seenAt });
        const suspect = this.#suspects.get(r.id);
        if (suspect !== undefined && seenAt > suspect) this.#suspects.delete(r.id);
      }
      for (const f of this.#listeners) f();
    }
  }

  #live(n: LiveNode, now: number): boolean {
    return now - n.seenAt <= MISSED_BEATS * n.heartbeatMs && !this.#suspects.has(n.id);
  }

  /** Live nodes (fresh records, not set aside), by id. */
  list(): LiveNode[] {
    const now = Date.now();
    return [...this.#nodes.values()].filter((n) => this.#live(n, now)).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  get(id: string): LiveNode | undefined {
    return this.#nodes.get(id);
  }

  /** Sets a node aside until its next heartbeat. */
  suspect(id: string): void {
    this.#suspects.set(id, Date.now());
  }

  onChange(f: () => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  /** Resolves when `pred(list())` holds; rejects after `timeoutMs`. */
  waitFor(pred: (nodes: LiveNode[]) => boolean, timeoutMs: number): Promise<LiveNode[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const nodes = this.list();
        if (!pred(nodes)) return false;
        off();
        clearTimeout(timer);
        clearInterval(poll);
        resolve(nodes);
        return true;
      };
      const off = this.onChange(check);
      // Nodes also go stale without any event: look again now and then.
      const poll = setInterval(check, 250);
      const timer = setTimeout(() => {
        off();
        clearInterval(poll);
        reject(new Error(`kernel nodes did not reach the wanted state in ${timeoutMs} ms (live: ${this.list().map((n) => n.id).join(', ') || 'none'})`));
      }, timeoutMs);
      check();
    });
  }

  async close(): Promise<void> {
    this.#watch.stop();
    await this.#done.catch(() => undefined);
  }
}
