// A host: embeddable in any process (the gateway hosts job actors), it activates the instances it
// holds leases for and keeps them resident. It claims instances that need a host (new ones
// announced on the control subject, orphans whose owner's lease lapsed, found by a periodic
// scan), renews its leases by heartbeat, lets go of an instance whose lease it lost, and on a
// graceful stop hands everything over at once (records what it has, releases the leases,
// announces them so another host claims them immediately).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { mapLimit } from '../common/concurrency.ts';
import type { PatchworkNames } from '../common/names.ts';
import { ActorClient, type StartOptions, type StartResult } from './client.ts';
import type { OrchestrationRegistry, RetryPolicy } from './context.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { FencedError } from './errors.ts';
import { isTerminalStatus } from './instance-index.ts';
import { InstanceRuntime, type InstanceServices, type StopReason } from './instance.ts';
import { LeaseManager } from './leases.ts';
import { sweepRetention } from './retention.ts';
import { resolveRetryPolicy } from './retry.ts';
import { openActorStorage, type ActorStorage } from './storage.ts';

export interface HostOptions {
  connection: NatsConnection;
  namespace?: string;
  names?: PatchworkNames;
  orchestrations: OrchestrationRegistry;
  dispatcher: Dispatcher;
  /** Stable per process; default a random id. */
  hostId?: string;
  /** How long a lease lasts without a heartbeat. Default 5000 ms. */
  leaseTtlMs?: number;
  /** Default leaseTtlMs / 3. */
  heartbeatMs?: number;
  /** How often to look for orphaned instances (two reads of a KV bucket each). Default leaseTtlMs / 4. */
  scanIntervalMs?: number;
  /** Claim new and orphaned instances. Default true; false makes a host that only runs what it is given. */
  claim?: boolean;
  maxInstances?: number;
  /** Purge finished root instances this long after they finished. Default: never. */
  retention?: { afterMs: number; sweepIntervalMs?: number };
  defaultRetry?: Partial<RetryPolicy>;
  /**
   * How far the code may run ahead of the journal: recorded-but-unacknowledged events per instance
   * before its turns pause. Results not yet acknowledged are lost in a crash (their activities run
   * again), so this bounds repeated work. 1 makes every turn wait for the previous one to be
   * stored. Default 256.
   */
  maxUnackedEvents?: number;
  /**
   * 'pipelined' (default): an activity is dispatched as soon as the code asks for it, while the
   * events that led to it are still being appended. 'strict': it is dispatched only once they
   * are stored, so no step starts before the result it depends on is durable (one append round
   * trip per sequential step).
   */
  durability?: 'pipelined' | 'strict';
  /** Most deliveries applied in one turn. Default 4096. */
  maxTurnDeliveries?: number;
  replicas?: number;
  inlineMaxBytes?: number;
  logger?: Logger;
}

export interface HostEvents {
  activated: [id: string];
  stopped: [id: string, reason: StopReason];
  fenced: [id: string, err: FencedError];
  lost: [id: string];
}

export class ActorHost {
  readonly id: string;
  readonly client: ActorClient;
  readonly storage: ActorStorage;
  readonly leases: LeaseManager;
  readonly #opts: HostOptions;
  readonly #log: Logger;
  readonly #services: InstanceServices;
  readonly #instances = new Map<string, InstanceRuntime>();
  readonly #activating = new Map<string, Promise<boolean>>();
  readonly #events = new EventEmitter();
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #control: Subscription | undefined;
  #started = false;
  #stopping = false;
  #halted = false;
  #heartbeatBusy = false;
  #scanBusy = false;

  private constructor(opts: HostOptions, storage: ActorStorage, log: Logger) {
    this.#opts = opts;
    this.storage = storage;
    this.#log = log;
    this.id = opts.hostId ?? `host-${randomUUID()}`;
    this.client = ActorClient.fromStorage(storage);
    const ttl = opts.leaseTtlMs ?? 5_000;
    this.leases = new LeaseManager({ kv: storage.leaseKv, hostId: this.id, ttlMs: ttl });
    this.#services = {
      storage,
      client: this.client,
      leases: this.leases,
      dispatcher: opts.dispatcher,
      orchestrations: opts.orchestrations,
      hostId: this.id,
      log: this.#log,
      defaultRetry: resolveRetryPolicy(opts.defaultRetry),
      maxUnackedEvents: opts.maxUnackedEvents ?? 256,
      strict: opts.durability === 'strict',
      maxTurnDeliveries: opts.maxTurnDeliveries ?? 4096,
      adoptChild: (childId) => {
        this.activate(childId).catch((err: unknown) => this.#log.warn({ err, childId }, 'could not activate a sub-orchestration here; another host will'));
      },
      onStopped: (rt, reason) => {
        if (this.#instances.get(rt.id) === rt) this.#instances.delete(rt.id);
        this.#events.emit('stopped', rt.id, reason);
      },
      onFenced: (rt, err) => this.#events.emit('fenced', rt.id, err),
    };
  }

  static async create(opts: HostOptions): Promise<ActorHost> {
    const storage = await openActorStorage(opts.connection, opts);
    const log = opts.logger ?? pino({ name: 'actors', level: process.env.PATCHWORK_LOG_LEVEL ?? 'warn' });
    return new ActorHost(opts, storage, log.child({ host: opts.hostId }));
  }

  on<K extends keyof HostEvents>(event: K, listener: (...args: HostEvents[K]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof HostEvents>(event: K, listener: (...args: HostEvents[K]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Resident instance ids. */
  residentIds(): string[] {
    return [...this.#instances.keys()];
  }

  instance(id: string): InstanceRuntime | undefined {
    return this.#instances.get(id);
  }

  /** Begins heartbeats and (unless claim is false) claiming new and orphaned instances. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const ttl = this.leases.ttlMs;
    this.#timers.push(setInterval(() => void this.#heartbeat(), this.#opts.heartbeatMs ?? Math.max(50, Math.floor(ttl / 3))));
    if (this.#opts.claim ?? true) {
      this.#control = this.storage.nc.subscribe(this.storage.names.controlSubject, {
        callback: (err, m) => {
          if (err || this.#stopping) return;
          for (const id of m.string().split(',')) {
            if (id) this.activate(id).catch((e: unknown) => this.#log.warn({ err: e, id }, 'claim after announcement failed'));
          }
        },
      });
      this.#timers.push(setInterval(() => void this.scan(), this.#opts.scanIntervalMs ?? Math.max(100, Math.floor(ttl / 4))));
      await this.scan();
    }
    const retention = this.#opts.retention;
    if (retention) {
      this.#timers.push(
        setInterval(() => {
          sweepRetention(this.client, retention.afterMs).catch((err: unknown) => this.#log.warn({ err }, 'retention sweep failed'));
        }, retention.sweepIntervalMs ?? 60_000),
      );
    }
  }

  /** Starts an instance and activates it in this host (the usual path for an embedding process). */
  async startInstance(orchestration: string, input?: unknown, opts: StartOptions = {}): Promise<StartResult> {
    const r = await this.client.start(orchestration, input, opts);
    await this.activate(r.id);
    return r;
  }

  /** Claims the instance's lease if it is free or lapsed, and activates it here. */
  activate(id: string): Promise<boolean> {
    if (this.#instances.has(id)) return Promise.resolve(true);
    const busy = this.#activating.get(id);
    if (busy) return busy;
    if (this.#stopping || this.#instances.size + this.#activating.size >= (this.#opts.maxInstances ?? Infinity)) return Promise.resolve(false);
    const p = (async () => {
      const lease = await this.leases.claim(id);
      if (!lease) return false;
      return this.#run(id, lease);
    })().finally(() => this.#activating.delete(id));
    this.#activating.set(id, p);
    return p;
  }

  /**
   * Takes an instance over whoever holds it (operator tooling, fault tests). The previous owner
   * is fenced at its next append.
   */
  seize(id: string): Promise<boolean> {
    const p = (async () => this.#run(id, await this.leases.seize(id)))().finally(() => this.#activating.delete(id));
    this.#activating.set(id, p);
    return p;
  }

  async #run(id: string, lease: Awaited<ReturnType<LeaseManager['seize']>>): Promise<boolean> {
    const rt = await InstanceRuntime.activate(this.#services, id, lease);
    if (!rt || rt.state === 'stopped') return false;
    if (this.#halted) {
      rt.halt();
      return false;
    }
    if (this.#stopping) {
      await rt.deactivate(0);
      return false;
    }
    this.#instances.set(id, rt);
    this.#events.emit('activated', id);
    return true;
  }

  /** Looks for instances that need a host: not finished, no live lease. */
  async scan(): Promise<void> {
    if (this.#scanBusy || this.#stopping) return;
    this.#scanBusy = true;
    try {
      const [entries, leases] = await Promise.all([this.storage.index.listAll(), this.leases.list()]);
      const orphans = entries.filter((e) => {
        if (isTerminalStatus(e.status) || this.#instances.has(e.id) || this.#activating.has(e.id)) return false;
        if (!this.#opts.orchestrations[e.orchestration]) return false;
        const lease = leases.get(e.id);
        return !lease || lease.lapsed;
      });
      await mapLimit(orphans, 8, async (e) => {
        if (this.#stopping) return;
        await this.activate(e.id).catch((err: unknown) => this.#log.warn({ err, id: e.id }, 'claim during scan failed'));
      });
    } catch (err) {
      this.#log.warn({ err }, 'scan for orphaned instances failed');
    } finally {
      this.#scanBusy = false;
    }
  }

  async #heartbeat(): Promise<void> {
    if (this.#heartbeatBusy) return;
    this.#heartbeatBusy = true;
    try {
      await Promise.all(
        [...this.#instances.values()].map(async (rt) => {
          if (rt.state === 'stopped' || rt.state === 'finishing') return;
          try {
            if (!(await this.leases.renew(rt.lease))) {
              this.#log.warn({ instance: rt.id }, 'lease lost to another host; deactivating');
              this.#events.emit('lost', rt.id);
              rt.lost();
            }
          } catch (err) {
            // NATS unreachable: keep running; fencing protects the history if the lease lapses.
            this.#log.warn({ err, instance: rt.id }, 'lease renewal failed');
          }
        }),
      );
    } finally {
      this.#heartbeatBusy = false;
    }
  }

  /**
   * Graceful stop: give activities in flight up to `drainMs` to finish, record their results,
   * release every lease and announce the instances so another host takes them at once.
   */
  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#clearTimers();
    await Promise.allSettled(this.#activating.values());
    const ids = this.residentIds();
    await Promise.all([...this.#instances.values()].map((rt) => rt.deactivate(opts.drainMs ?? 2_000)));
    if (ids.length) this.storage.nc.publish(this.storage.names.controlSubject, ids.join(','));
    await this.storage.nc.flush().catch(() => undefined);
  }

  /** Stops everything at once without releasing leases, as a crash would (tests, benchmarks). */
  halt(): void {
    this.#stopping = true;
    this.#halted = true;
    this.#clearTimers();
    for (const rt of [...this.#instances.values()]) rt.halt();
  }

  #clearTimers(): void {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    this.#control?.unsubscribe();
    this.#control = undefined;
  }
}
