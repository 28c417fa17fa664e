// A team run's live progress (TeamSpec.live, src/common/live-hints.ts): the one member the job
// names publishes a hint after each step, and renders a preview of a step while a watcher asks
// for previews and the budget allows. Nothing here is awaited by the run's steps: a hint is a
// request whose answer only updates whether anyone watches, and a preview renders while the
// next steps run (on the node's pool, like the job's own previews). The run awaits an unfinished
// preview only before it answers, so the preview's cost is counted in the call's usage.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decodeLiveReply, encodeLive, type LiveHint, type LivePreview } from '../../common/live-hints.ts';
import type { LiveSpec } from '../generated/patchwork/kernel/v1/kernel.ts';

/** How long a hint waits for a watcher's answer; no answer counts as nobody watching. */
const REPLY_MS = 2_000;
/** The preview budget when the spec gives none (see LiveSpec.preview_share). */
const DEFAULT_SHARE = 0.25;

export class LiveProgress {
  readonly #nc: NatsConnection;
  readonly #spec: LiveSpec;
  readonly #log: Logger;
  /** A watcher answered the last hint wanting previews. */
  #watched = false;
  #rendering: Promise<void> | null = null;
  #rendered = false;
  #stepMsSincePreview = 0;
  #previewMs = 0;

  constructor(nc: NatsConnection, spec: LiveSpec, log: Logger) {
    this.#nc = nc;
    this.#spec = spec;
    this.#log = log;
  }

  /** Whether the spec asks for previews at all (a format is set). */
  get wantsPreviews(): boolean {
    return this.#spec.previewFormat !== undefined;
  }

  /**
   * A step is done: publish its hint, and start rendering its preview (`render`, null: none for
   * this step) if a watcher wants previews, none is rendering, and the steps since the last one
   * took at least its time over the share.
   */
  step(hint: LiveHint, stepMs: number, render: (() => Promise<LivePreview>) | null): void {
    this.#stepMsSincePreview += stepMs;
    this.#send(hint);
    if (!render || !this.wantsPreviews || !this.#watched || this.#rendering) return;
    const share = this.#spec.previewShare > 0 ? this.#spec.previewShare : DEFAULT_SHARE;
    if (this.#rendered && this.#stepMsSincePreview * share < this.#previewMs) return;
    this.#rendered = true;
    this.#stepMsSincePreview = 0;
    const t0 = performance.now();
    this.#rendering = render()
      .then((preview) => {
        this.#previewMs = performance.now() - t0;
        this.#send({ ...hint, preview });
      })
      .catch((err: unknown) => this.#log.debug({ err, subject: this.#spec.subject }, 'live preview failed; the job goes on'))
      .finally(() => (this.#rendering = null));
  }

  /** Resolves once no preview is rendering. */
  settled(): Promise<void> {
    return this.#rendering ?? Promise.resolve();
  }

  #send(hint: LiveHint): void {
    this.#nc.request(this.#spec.subject, encodeLive(hint), { timeout: REPLY_MS }).then(
      (m) => (this.#watched = decodeLiveReply(m.data).previews),
      // No responders (nobody watches), a timeout, or a closed connection: no previews until a
      // watcher answers again. Never an error: live progress is a hint.
      () => (this.#watched = false),
    );
  }
}
