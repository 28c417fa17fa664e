// The live kernel nodes, from a watch on the node bucket. A node is live while its record keeps
// changing: one not rewritten for three heartbeats (its own interval) is taken as gone, whether
// it was killed or partitioned. A node the client saw fail (connection refused, draining) is
// set aside until its next heartbeat arrives, so calls stop going to a dead node at once.
//
// The watch is a consumer, and consumers are what a NATS cluster is slowest to give back after
// one of its servers dies (nats-server 2.9 keeps placing new ones on the dead server for
// minutes). So when the watch goes quiet for longer than the nodes' heartbeats allow, the set
// reads the bucket without a consumer (key list from the stream, a message get per key) until
// the watch speaks again, and it opens a new watch if the old one ended.
import type { KV, KvEntry, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { readAllEntriesByGets } from '../../common/kv.ts';
import { decodeNodeRecord, type NodeRecord } from '../cluster/registry.ts';

export interface LiveNode extends NodeRecord {
  /** Local time (ms) the latest record arrived. */
  seenAt: number;
}

/** Heartbeats a node may miss before it is taken as gone. */
const MISSED_BEATS = 3;
/** Quiet time that starts the consumer-free reads when no node is known (no heartbeat to go by). */
const DEFAULT_QUIET_MS = 3_000;

export interface NodeSetOptions {
  log?: Logger;
  /** How often to check whether the watch has gone quiet (ms). */
  checkMs?: number;
}

export class NodeSet {
  readonly #kv: KV;
  readonly #nodes = new Map<string, LiveNode>();
  /** Node id -> revision of the record `#nodes` holds, so a poll never applies an older one. */
  readonly #revisions = new Map<string, number>();
  /** Node id -> local time it was set aside; cleared by a newer heartbeat. */
  readonly #suspects = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  readonly #log: Logger | undefined;
  readonly #check: ReturnType<typeof setInterval>;
  #watch: QueuedIterator<KvWatchEntry> | null = null;
  #following: Promise<void> = Promise.resolve();
  /** The latest quiet check: it may be opening a watch, which close() must see stopped. */
  #checking: Promise<void> = Promise.resolve();
  #lastEventAt = Date.now();
  #polling = false;
  #lastPollAt = 0;
  #closed = false;
  /** Reads done without the watch (for tests and logs). */
  polls = 0;

  private constructor(kv: KV, opts: NodeSetOptions) {
    this.#kv = kv;
    this.#log = opts.log;
    this.#check = setInterval(() => {
      if (!this.#polling) this.#checking = this.#checkQuiet();
    }, opts.checkMs ?? 500);
    this.#check.unref();
  }

  static async watch(kv: KV, opts: NodeSetOptions = {}): Promise<NodeSet> {
    const set = new NodeSet(kv, opts);
    try {
      await set.#openWatch();
    } catch (err) {
      // No consumer to be had right now: start from a consumer-free read; the check retries.
      opts.log?.warn({ err }, 'node bucket watch failed; reading the bucket without a consumer');
      await set.#poll();
    }
    return set;
  }

  async #openWatch(): Promise<void> {
    const watch = await this.#kv.watch({ key: '>' });
    if (this.#closed) {
      watch.stop();
      return;
    }
    this.#watch = watch;
    this.#lastEventAt = Date.now();
    this.#following = this.#follow(watch).finally(() => {
      if (this.#watch === watch) this.#watch = null;
    });
  }

  async #follow(watch: QueuedIterator<KvWatchEntry>): Promise<void> {
    try {
      for await (const e of watch) {
        this.#lastEventAt = Date.now();
        this.#apply(e, e.isUpdate);
      }
    } catch (err) {
      if (!this.#closed) this.#log?.warn({ err }, 'node bucket watch ended');
    }
  }

  /** Takes one entry of the bucket; `fresh`: written after the set started following. */
  #apply(e: KvEntry, fresh: boolean): void {
    const known = this.#revisions.get(e.key);
    if (known !== undefined && e.revision <= known) return;
    this.#revisions.set(e.key, e.revision);
    if (e.operation !== 'PUT') {
      this.#nodes.delete(e.key);
      this.#suspects.delete(e.key);
    } else {
      const r = decodeNodeRecord(e.value);
      if (!r) {
        this.#log?.warn({ key: e.key }, 'ignoring a node record that does not parse');
        return;
      }
      // Records from before the set started carry their own age (server time); a newer
      // revision than the one held was written since the last look, so it is fresh.
      const now = Date.now();
      const seenAt = fresh || known !== undefined ? now : Math.min(now, e.created.getTime());
      this.#nodes.set(r.id, { ...r, seenAt });
      const suspect = this.#suspects.get(r.id);
      if (suspect !== undefined && seenAt > suspect) this.#suspects.delete(r.id);
    }
    for (const f of this.#listeners) f();
  }

  /** The longest a healthy watch stays silent: the shortest heartbeat of the known nodes, and a half. */
  #quietMs(): number {
    let beat = Infinity;
    for (const n of this.#nodes.values()) beat = Math.min(beat, n.heartbeatMs);
    return Number.isFinite(beat) ? Math.max(beat * 1.5, 500) : DEFAULT_QUIET_MS;
  }

  async #checkQuiet(): Promise<void> {
    if (this.#closed || this.#polling) return;
    const now = Date.now();
    const quiet = this.#quietMs();
    if (now - this.#lastEventAt <= quiet && this.#watch) return;
    // While quiet, read at the pace a healthy watch would deliver, not faster.
    if (now - this.#lastPollAt < quiet) return;
    this.#lastPollAt = now;
    this.#polling = true;
    try {
      await this.#poll();
      if (!this.#watch && !this.#closed) await this.#openWatch();
    } catch (err) {
      this.#log?.debug({ err }, 'node bucket read without the watch failed; will try again');
    } finally {
      this.#polling = false;
    }
  }

  async #poll(): Promise<void> {
    const entries = await readAllEntriesByGets(this.#kv);
    this.polls++;
    const present = new Set(entries.map((e) => e.key));
    for (const e of entries) this.#apply(e, false);
    // Keys gone from the bucket (deleted, or aged out) are gone nodes.
    for (const id of [...this.#nodes.keys()]) {
      if (!present.has(id)) {
        this.#nodes.delete(id);
        this.#suspects.delete(id);
        for (const f of this.#listeners) f();
      }
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
    this.#closed = true;
    clearInterval(this.#check);
    // A watch being opened now is stopped by #openWatch once made; wait for that, so the owner
    // never closes the connection under a watch still being made.
    await this.#checking;
    this.#watch?.stop();
    await this.#following.catch(() => undefined);
  }
}
