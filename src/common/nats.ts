// Connecting to NATS the way every Patchwork process should: reconnect forever (a restarted or
// failed-over server must not take the process down with it), and small helpers that recognise
// the JetStream errors the runtime branches on.
import { connect, type NodeConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import { CodedError } from './errors.ts';
import { natsAuthFromEnv } from './nats-auth.ts';

export type { NatsConnection };

export interface ConnectOptions {
  servers: string | string[];
  /** Shown in the server's connection list (`nats server report connections`). */
  name?: string;
  /** Give up on the first connection after this long; default 10 s. */
  timeoutMs?: number;
  extra?: Partial<NodeConnectionOptions>;
}

/** Connects with the credentials in PATCHWORK_NATS_USER / PATCHWORK_NATS_PASSWORD when set (see nats-auth.ts); `extra` wins. */
export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const auth = natsAuthFromEnv();
  try {
    return await connect({
      servers: opts.servers,
      name: opts.name,
      timeout: opts.timeoutMs ?? 10_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
      ...auth,
      ...opts.extra,
    });
  } catch (err) {
    throw new CodedError(
      'NATS_UNAVAILABLE',
      `cannot connect to NATS at ${String(opts.servers)}: ${(err as Error).message}. Check that nats-server runs with JetStream (-js), that the URL is right and, if the server requires credentials, that PATCHWORK_NATS_USER and PATCHWORK_NATS_PASSWORD are set.`,
      { retryable: true, cause: err },
    );
  }
}

/** JetStream's "wrong last sequence" (10071): an expected-sequence check failed. */
export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === 10071;
}

/**
 * The server was unreachable or did not answer in time: worth retrying. A closed connection is
 * not transient: the client reconnects on its own, so "closed" means someone closed it for good.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const name = err.name;
  const msg = err.message.toLowerCase();
  if (name === 'ClosedConnectionError' || msg.includes('connection closed') || msg.includes('connection draining')) return false;
  return (
    name === 'TimeoutError' ||
    name === 'RequestError' ||
    name === 'NoResponders' ||
    name === 'JetStreamNotEnabled' ||
    msg.includes('timeout') ||
    msg.includes('no responders') ||
    msg.includes('disconnect') ||
    msg.includes('jetstream is not enabled') ||
    msg.includes('jetstream system temporarily unavailable')
  );
}

const reconnectListeners = new WeakMap<NatsConnection, Set<() => void>>();

/**
 * Sleeps up to `ms`, but wakes early when the connection reconnects: a retry loop waiting out a
 * server restart should try again the moment the server is back, not at its next backoff step.
 */
export function sleepOrReconnect(nc: NatsConnection | undefined, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let listeners: Set<() => void> | undefined;
    const done = () => {
      clearTimeout(timer);
      listeners?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (!nc) return;
    listeners = reconnectListeners.get(nc);
    if (!listeners) {
      const set = new Set<() => void>();
      listeners = set;
      reconnectListeners.set(nc, set);
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') for (const fn of [...set]) fn();
      })();
    }
    listeners.add(done);
  });
}
