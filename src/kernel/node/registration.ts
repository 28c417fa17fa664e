// The node's record in the node bucket: written at start, rewritten every heartbeat (with the
// current load), deleted on drain. A failed heartbeat (NATS away) is logged and retried on the
// next beat; clients treat a record that stops changing as a node that is gone.
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { encodeNodeRecord, type NodeRecord } from '../cluster/registry.ts';

export class Registration {
  readonly #kv: KV;
  readonly #record: () => NodeRecord;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #failing = false;
  #pending: Promise<void> = Promise.resolve();

  constructor(kv: KV, record: () => NodeRecord, intervalMs: number, log: Logger) {
    this.#kv = kv;
    this.#record = record;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#pending = this.#beat().catch((err: unknown) => {
        if (!this.#failing) this.#log.warn({ err }, 'heartbeat failed; retrying on the next beat');
        this.#failing = true;
      });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    if (this.#stopped) return;
    const r = this.#record();
    await this.#kv.put(r.id, encodeNodeRecord(r));
    if (this.#failing) this.#log.info('heartbeat recovered');
    this.#failing = false;
  }

  /** Stops the heartbeat and deletes the record. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    // A beat under way must land before the delete, or it would bring the record back.
    await this.#pending;
    await this.#kv.delete(this.#record().id);
  }
}
