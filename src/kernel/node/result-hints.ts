// Result hints: when a node stores a batch of tile results, it also pushes the bytes to the other
// nodes running the same job over core NATS, so that by the time the client asks them for the
// next step, the results they need are already in their caches and the step starts without a
// store read. A hint is only a cache warmer: the bytes are hashed before they are kept, the
// authoritative ids come in the next request, and anything missed is read from the Object Store.
import { headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { PatchworkNames } from '../../common/names.ts';
import { resultHintSubject } from '../cluster/registry.ts';
import type { BlobCache } from './blob-cache.ts';

const ID_HEADER = 'pw-blob-id';
const FROM_HEADER = 'pw-node';
/** Room left under the server's max payload for headers and protocol. */
const HEADROOM = 4096;

export class ResultHints {
  readonly enabled: boolean;
  readonly #nc: NatsConnection;
  readonly #names: PatchworkNames;
  readonly #nodeId: string;
  readonly #cache: BlobCache;
  readonly #log: Logger;
  readonly #subs = new Map<string, Subscription>();
  published = 0;

  constructor(nc: NatsConnection, names: PatchworkNames, nodeId: string, cache: BlobCache, enabled: boolean, log: Logger) {
    this.#nc = nc;
    this.#names = names;
    this.#nodeId = nodeId;
    this.#cache = cache;
    this.enabled = enabled;
    this.#log = log;
  }

  /** Starts receiving the job's pushes (idempotent). */
  follow(jobKey: string): void {
    if (!this.enabled || this.#subs.has(jobKey)) return;
    const sub = this.#nc.subscribe(resultHintSubject(this.#names, jobKey), {
      callback: (err, msg) => {
        if (err) {
          this.#log.warn({ err, jobKey }, 'result hint subscription failed');
          return;
        }
        const id = msg.headers?.get(ID_HEADER);
        if (!id || msg.headers?.get(FROM_HEADER) === this.#nodeId) return;
        // msg.data is a view into the connection's read buffer: keep a copy.
        if (!this.#cache.offer(id, Uint8Array.from(msg.data))) this.#log.warn({ id, jobKey }, 'dropped a pushed result whose bytes do not match its id');
      },
    });
    this.#subs.set(jobKey, sub);
  }

  unfollow(jobKey: string): void {
    this.#subs.get(jobKey)?.unsubscribe();
    this.#subs.delete(jobKey);
  }

  /** Pushes a stored blob to the job's other nodes (skipped when larger than a NATS message may be). */
  publish(jobKey: string, id: string, bytes: Uint8Array): boolean {
    if (!this.enabled) return false;
    const max = (this.#nc.info?.max_payload ?? 1024 * 1024) - HEADROOM;
    if (bytes.length > max) return false;
    const h = headers();
    h.set(ID_HEADER, id);
    h.set(FROM_HEADER, this.#nodeId);
    this.#nc.publish(resultHintSubject(this.#names, jobKey), bytes, { headers: h });
    this.published++;
    return true;
  }

  close(): void {
    for (const sub of this.#subs.values()) sub.unsubscribe();
    this.#subs.clear();
  }
}
