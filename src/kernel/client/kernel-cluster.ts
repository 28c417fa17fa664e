// The client side of the kernel cluster, as the actor runtime's dispatcher uses it: the live
// node set, placement, and calls with a deadline, retries with backoff and failover.
//
// A call names a placement key (the job id) and a rank (the shard index): it goes to the node
// ranked there for the key, or to the least-loaded live node when that one is saturated, gone or
// already failed this call. Retryable failures (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, a draining node) are retried on another node at once when there is one,
// else after an exponential backoff with jitter. Every method is idempotent, so a call that
// dies with its node is simply run again elsewhere, with the same result.
import type { NatsConnection } from '@nats-io/transport-node';
import { setSha256Backend } from '@nats-io/obj';
import type { Logger } from 'pino';
import { CodedError } from '../../common/errors.ts';
import { patchworkNames, type PatchworkNames } from '../../common/names.ts';
import { openNodeBucket } from '../cluster/registry.ts';
import { clientCredentials, type ClientTls } from '../cluster/transport.ts';
import { NodeClient, type KernelMethod, type KernelMethods } from './node-client.ts';
import { NodeSet, type LiveNode } from './node-set.ts';
import { rendezvousRank } from './placement.ts';

export interface KernelClusterOptions {
  nc: NatsConnection;
  /** Namespace of bucket and subject names (default 'job'), or the names themselves. */
  namespace?: string;
  names?: PatchworkNames;
  tls?: ClientTls;
  /** Deadline of one attempt (default 5 minutes). */
  deadlineMs?: number;
  /** Attempts per call (default 6). */
  attempts?: number;
  /** Backoff between attempts on the same nodes: base and cap (default 50 ms, 2 s). */
  backoffMs?: { base: number; max: number };
  /** How long a call waits for any live node to appear (default 10 s). */
  noNodeWaitMs?: number;
  /** Replicas of the node bucket if this client creates it (PATCHWORK_JETSTREAM_REPLICAS; default 1). */
  replicas?: number;
  log?: Logger;
}

export interface CallOptions {
  /** What placement hashes: the job id, so a job's calls go to the same nodes. */
  placementKey: string;
  /** Preferred position in the job's ranking (the shard index); default 0. */
  rank?: number;
  /**
   * How many of the ranking's first nodes the call may move to when its preferred node is busy
   * (the job's width; default all). Nodes outside them take the call only when these failed, so
   * a job capped at N nodes stays on N nodes while they answer.
   */
  spread?: number;
  /** Deadline of each attempt (default: the cluster's). */
  deadlineMs?: number;
  /** Absolute deadline (ms since the epoch) of the whole call, retries included. */
  deadline?: number;
  attempts?: number;
  /** Cancels the call (in flight and between retries): it fails with CANCELLED. */
  signal?: AbortSignal;
}

export interface CallResult<Res> {
  response: Res;
  /** The node that answered. */
  node: string;
  attempts: number;
}

/** Sleeps `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

const cancelled = (): CodedError => new CodedError('CANCELLED', 'the kernel call was cancelled by its caller');

export class KernelCluster {
  readonly nodes: NodeSet;
  readonly names: PatchworkNames;
  readonly #tls: ClientTls;
  readonly #deadlineMs: number;
  readonly #attempts: number;
  readonly #backoff: { base: number; max: number };
  readonly #noNodeWaitMs: number;
  readonly #log: Logger | undefined;
  readonly #clients = new Map<string, NodeClient>();
  /** Calls this client has in flight per node (heartbeats lag; this does not). */
  readonly #inFlight = new Map<string, number>();
  /** When this client's last call on each node ended: heartbeats older than that overstate load. */
  readonly #settledAt = new Map<string, number>();

  private constructor(nodes: NodeSet, names: PatchworkNames, opts: KernelClusterOptions) {
    this.nodes = nodes;
    // Channels to nodes that left the bucket are closed.
    nodes.onChange(() => {
      for (const [id, c] of this.#clients) {
        if (!nodes.get(id)) {
          c.close();
          this.#clients.delete(id);
        }
      }
    });
    this.names = names;
    this.#tls = opts.tls ?? {};
    this.#deadlineMs = opts.deadlineMs ?? 300_000;
    this.#attempts = opts.attempts ?? 6;
    this.#backoff = opts.backoffMs ?? { base: 50, max: 2_000 };
    this.#noNodeWaitMs = opts.noNodeWaitMs ?? 10_000;
    this.#log = opts.log;
  }

  static async connect(opts: KernelClusterOptions): Promise<KernelCluster> {
    setSha256Backend('native');
    const names = opts.names ?? patchworkNames(opts.namespace ?? 'job');
    const nodes = await NodeSet.watch(await openNodeBucket(opts.nc, names, opts.replicas), { log: opts.log });
    return new KernelCluster(nodes, names, opts);
  }

  /** Live nodes from most to least preferred for `placementKey`. */
  ranked(placementKey: string): LiveNode[] {
    return rendezvousRank(placementKey, this.nodes.list());
  }

  /** Calls this client has in flight on `nodeId`. */
  inFlight(nodeId: string): number {
    return this.#inFlight.get(nodeId) ?? 0;
  }

  #load(n: LiveNode): number {
    // A heartbeat written before our last call there ended still counts that call as running;
    // trusting it would steer work away from a node that is in fact idle.
    const reported = n.seenAt >= (this.#settledAt.get(n.id) ?? 0) ? n.inFlight : 0;
    return Math.max(reported, this.inFlight(n.id)) / n.capacity;
  }

  #client(n: LiveNode): NodeClient {
    let c = this.#clients.get(n.id);
    if (c && c.address !== n.address) {
      c.close();
      c = undefined;
    }
    if (!c) {
      c = new NodeClient(n.id, n.address, clientCredentials(this.#tls), this.#tls.serverName);
      this.#clients.set(n.id, c);
    }
    return c;
  }

  /** The node for this attempt; null when no node is live. */
  #choose(opts: CallOptions, tried: ReadonlySet<string>): { node: LiveNode; fresh: boolean } | null {
    const ranked = this.ranked(opts.placementKey);
    if (ranked.length === 0) return null;
    const preferred = ranked[(opts.rank ?? 0) % ranked.length];
    if (!tried.has(preferred.id) && this.#load(preferred) < 1) return { node: preferred, fresh: true };
    const spread = Math.max(1, Math.min(opts.spread ?? ranked.length, ranked.length));
    const untried = ranked.filter((n) => !tried.has(n.id));
    const within = untried.filter((n) => ranked.indexOf(n) < spread);
    // Busy, not failed: stay within the job's nodes. Failed: any untried node will do.
    const pool = within.length > 0 ? within : untried.length > 0 ? untried : ranked;
    // Least loaded; ties keep the ranking's order.
    let best = pool[0];
    for (const n of pool) if (this.#load(n) < this.#load(best)) best = n;
    return { node: best, fresh: untried.length > 0 };
  }

  async call<M extends KernelMethod>(method: M, request: KernelMethods[M][0], opts: CallOptions): Promise<CallResult<KernelMethods[M][1]>> {
    const attempts = opts.attempts ?? this.#attempts;
    const tried = new Set<string>();
    let last: CodedError | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (opts.signal?.aborted) throw cancelled();
      const left = (opts.deadline ?? Infinity) - Date.now();
      if (left <= 0) {
        throw new CodedError('KERNEL_DEADLINE', `kernel ${method} ran out of time after ${attempt - 1} attempts${last ? `: ${last.message}` : ''}`, { retryable: true, cause: last ?? undefined });
      }
      const deadlineMs = Math.min(opts.deadlineMs ?? this.#deadlineMs, left);
      let choice = this.#choose(opts, tried);
      if (!choice) {
        await this.nodes.waitFor((ns) => ns.length > 0, this.#noNodeWaitMs).catch(() => undefined);
        choice = this.#choose(opts, tried);
        if (!choice) {
          last = new CodedError('NO_KERNEL_NODES', `no live kernel node in bucket '${this.names.nodeBucket}': start one with \`patchwork kernel\``, { retryable: true });
          continue;
        }
      }
      const { node, fresh } = choice;
      if (!fresh) {
        // Every live node failed this call already: give them time.
        const cap = Math.min(this.#backoff.max, this.#backoff.base * 2 ** (attempt - 1));
        await sleep(cap / 2 + Math.random() * (cap / 2), opts.signal);
        if (opts.signal?.aborted) throw cancelled();
      }
      this.#inFlight.set(node.id, this.inFlight(node.id) + 1);
      try {
        const response = await this.#client(node).call(method, request, deadlineMs, opts.signal);
        return { response, node: node.id, attempts: attempt };
      } catch (e) {
        const err = e instanceof CodedError ? e : new CodedError('KERNEL_INTERNAL', String(e), { retryable: true, cause: e });
        last = err;
        if (opts.signal?.aborted) throw cancelled();
        if (!err.retryable) throw err;
        tried.add(node.id);
        if (err.code === 'KERNEL_UNAVAILABLE' || err.code === 'KERNEL_DRAINING') this.nodes.suspect(node.id);
        this.#log?.warn({ method, node: node.id, attempt, code: err.code, err: err.message }, 'kernel call failed; retrying');
      } finally {
        this.#inFlight.set(node.id, this.inFlight(node.id) - 1);
        this.#settledAt.set(node.id, Date.now());
      }
    }
    throw new CodedError(last?.code ?? 'KERNEL_UNAVAILABLE', `kernel ${method} failed after ${attempts} attempts: ${last?.message ?? 'no node answered'}`, {
      retryable: true,
      details: { attempts, tried: [...tried] },
      cause: last ?? undefined,
    });
  }

  prepare(request: KernelMethods['prepare'][0], opts: CallOptions): Promise<CallResult<KernelMethods['prepare'][1]>> {
    return this.call('prepare', request, opts);
  }

  step(request: KernelMethods['step'][0], opts: CallOptions): Promise<CallResult<KernelMethods['step'][1]>> {
    return this.call('step', request, opts);
  }

  preview(request: KernelMethods['preview'][0], opts: CallOptions): Promise<CallResult<KernelMethods['preview'][1]>> {
    return this.call('preview', request, opts);
  }

  finish(request: KernelMethods['finish'][0], opts: CallOptions): Promise<CallResult<KernelMethods['finish'][1]>> {
    return this.call('finish', request, opts);
  }

  async close(): Promise<void> {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
    await this.nodes.close();
  }
}
