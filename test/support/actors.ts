// Test helpers for the actor runtime: a unique namespace per test (so tests share one
// nats-server without seeing each other's streams and buckets), hosts and clients that are all
// closed in `finally`, and small polling helpers.
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { connectNats } from '../../src/common/nats.ts';
import { ActorClient, ActorHost, type HostOptions } from '../../src/actors/index.ts';

/** Quiet unless PATCHWORK_LOG_LEVEL asks (expected warnings, e.g. fencing, would clutter output). */
export function testLogger() {
  return pino({ name: 'actors', level: process.env.PATCHWORK_LOG_LEVEL ?? 'silent' });
}

export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export class ActorEnv {
  readonly url: string;
  readonly namespace: string;
  readonly #connections: NatsConnection[] = [];
  readonly #hosts: ActorHost[] = [];

  constructor(url: string, namespace = uniqueNamespace()) {
    this.url = url;
    this.namespace = namespace;
  }

  async connect(name = 'test'): Promise<NatsConnection> {
    const nc = await connectNats({ servers: this.url, name });
    this.#connections.push(nc);
    return nc;
  }

  /** A started host on its own connection (so fencing and takeover are between real peers). */
  async host(opts: Omit<HostOptions, 'connection'> & { start?: boolean }): Promise<ActorHost> {
    const nc = await this.connect(opts.hostId ?? 'host');
    const host = await ActorHost.create({ namespace: this.namespace, leaseTtlMs: 1_000, logger: testLogger(), ...opts, connection: nc });
    this.#hosts.push(host);
    if (opts.start ?? true) await host.start();
    return host;
  }

  async client(): Promise<ActorClient> {
    return ActorClient.connect({ connection: await this.connect('client'), namespace: this.namespace });
  }

  async close(): Promise<void> {
    for (const h of this.#hosts) h.halt();
    for (const nc of this.#connections) await nc.close().catch(() => undefined);
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
