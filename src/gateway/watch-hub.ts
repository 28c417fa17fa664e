// Live job updates, shared: one upstream `JobService.watch` per (tenant, job) per gateway,
// however many subscribers follow that job, fanned out in memory. With 1,000 subscribers to one
// job the job's history is read once here, not 1,000 times.
//
// Each subscriber has a mailbox holding at most one state: a state that arrives before the
// subscriber took the previous one replaces it (the newest wins). Memory per subscriber is
// bounded, and since the final state is the last one published it can never be coalesced away.
// The subscriber pulls at its own pace: graphql-ws awaits each socket write before asking for the
// next state, so a slow client only ever coalesces, never buffers.
//
// A state is handed to the mailboxes in chunks (FANOUT_CHUNK), yielding to the event loop between
// chunks: each chunk's socket writes go out before the next chunk, and a newer state that arrives
// meanwhile (above all the final one) is what the mailboxes not yet reached get, instead of
// waiting behind the older state's fan-out to every socket. Mailboxes reached with the older state get the newer
// one in a further pass. A stream is ended only once it was handed the final state.
import type { Logger } from 'pino';
import { isCodedError } from '../common/errors.ts';
import { isTransient } from '../common/nats.ts';
import { TERMINAL_JOB_STATUSES, type JobService, type JobView } from '../actors/jobs/types.ts';

const isTerminal = (v: JobView): boolean => TERMINAL_JOB_STATUSES.includes(v.status);

/** One subscriber's view of a feed: an async iterator that yields the newest state it has not seen. */
export class JobUpdateStream implements AsyncIterableIterator<JobView> {
  /** Results computed for this job's states, shared by every subscriber of the feed. */
  readonly memo: ResultMemo;
  #pending: JobView | null = null;
  #waiter: { resolve: (r: IteratorResult<JobView>) => void; reject: (e: unknown) => void } | null = null;
  #ended = false;
  #error: unknown = null;
  #detach: () => void;
  /** States replaced before the subscriber took them (coalesced). */
  coalesced = 0;
  /** The last state handed to this stream (by the feed's fan-out). */
  lastOffered: JobView | null = null;

  constructor(detach: () => void, memo: ResultMemo) {
    this.#detach = detach;
    this.memo = memo;
  }

  /** A new state for this subscriber (called by the feed). */
  offer(view: JobView): void {
    this.lastOffered = view;
    if (this.#ended) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve({ value: view, done: false });
    } else {
      if (this.#pending) this.coalesced++;
      this.#pending = view;
    }
  }

  /** No more states: the pending one (the final state) is still delivered. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#waiter && !this.#pending) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  fail(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.reject(err);
    }
  }

  next(): Promise<IteratorResult<JobView>> {
    if (this.#pending) {
      const value = this.#pending;
      this.#pending = null;
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) {
      const err = this.#error;
      this.#error = null;
      this.#detach();
      return Promise.reject(err);
    }
    if (this.#ended) {
      this.#detach();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The subscriber left (client unsubscribed or disconnected). */
  return(): Promise<IteratorResult<JobView>> {
    this.#ended = true;
    this.#pending = null;
    this.#detach();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<JobView>> {
    void this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Mailboxes filled per turn of the event loop: a newer state waits at most one chunk's socket
 * writes (512 × some tens of µs here). Smaller chunks cost more than they save: each yield lets
 * the job actor's work in this process (kernel results, appends, dispatching the next kernel
 * calls) run before the fan-out is done, and the kernels then compete with it for CPU. Measured
 * with 1,000 subscribers: chunks of 64 gave p99 68-490 ms (median ~125), 256 gave 65-205
 * (median ~82), 512 gave 60-97 (docs/architecture.md, Subscriptions).
 */
export const FANOUT_CHUNK = 512;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Upstream retries after a transient failure (NATS reconnecting): capped backoff, then give up. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;
const RETRY_ATTEMPTS = 30;

/**
 * The response computed for one (operation, variables) and one job state, kept for the newest
 * state only: 1,000 subscribers with the same query cost one execution per state, not 1,000.
 */
export class ResultMemo {
  static readonly MAX_OPERATIONS = 64;
  readonly #entries = new Map<string, { version: number; result: unknown }>();

  get<T>(key: string, version: number, compute: () => T): T {
    const hit = this.#entries.get(key);
    if (hit && hit.version === version) return hit.result as T;
    const result = compute();
    // A subscriber still taking an older state (it was handed it before a newer one arrived) must
    // not evict the newest: the rest of the fan-out is about to ask for that one.
    if (hit ? hit.version < version : this.#entries.size < ResultMemo.MAX_OPERATIONS) this.#entries.set(key, { version, result });
    return result;
  }
}

/** What the hub reports (metrics). */
export interface HubObserver {
  /** Every state an upstream watch delivers. */
  onState?(view: JobView): void;
  /**
   * A state was handed to every subscriber's mailbox, `seconds` after it arrived (a subscriber that
   * was waiting writes it to its socket in the same turn of the event loop). Not called for a
   * state superseded before it reached everyone.
   */
  onFanOut?(view: JobView, seconds: number): void;
}

class Feed {
  latest: JobView | null = null;
  readonly memo = new ResultMemo();
  finished = false;
  readonly subscribers = new Set<JobUpdateStream>();
  readonly ready: Promise<void>;
  #markReady!: () => void;
  #failReady!: (err: unknown) => void;
  readonly #abort = new AbortController();

  constructor(
    readonly tenant: string,
    readonly id: string,
    private readonly jobs: JobService,
    private readonly onClosed: (feed: Feed) => void,
    private readonly logger: Logger | undefined,
    private readonly observer: HubObserver | undefined,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.#markReady = resolve;
      this.#failReady = reject;
    });
    this.ready.catch(() => {}); // observed by subscribe(); never an unhandled rejection
    void this.#run();
  }

  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  add(stream: JobUpdateStream): void {
    this.subscribers.add(stream);
    if (this.latest) stream.offer(this.latest);
    if (this.finished) stream.end();
  }

  #fanning = false;
  /** When `latest` was published (performance.now()). */
  #latestAt = 0;

  /**
   * Hands `latest` to every subscriber, FANOUT_CHUNK at a time, yielding to the event loop between
   * chunks (so the chunk's writes go out and a newer state can arrive). Each subscriber gets the
   * newest state at the moment it is reached; passes repeat until every subscriber holds `latest`.
   */
  async #fanOut(): Promise<void> {
    if (this.#fanning) return; // the running pass picks up the new `latest`
    this.#fanning = true;
    try {
      for (;;) {
        const behind = [...this.subscribers].filter((s) => s.lastOffered !== this.latest);
        if (behind.length === 0) {
          if (this.latest) this.observer?.onFanOut?.(this.latest, (performance.now() - this.#latestAt) / 1000);
          return;
        }
        for (let i = 0; i < behind.length; i++) {
          // Nothing can overtake the final state: it goes to everyone at once. Yielding then would
          // only let the early subscribers' completions and socket closes cut in line.
          if (i > 0 && i % FANOUT_CHUNK === 0 && !this.finished) {
            await yieldToEventLoop();
            if (this.stopped && !this.finished) return;
          }
          const s = behind[i];
          const view = this.latest!;
          if (s.lastOffered === view || !this.subscribers.has(s)) continue;
          s.offer(view);
          if (this.finished && isTerminal(view)) s.end();
        }
      }
    } finally {
      this.#fanning = false;
    }
  }

  remove(stream: JobUpdateStream): void {
    this.subscribers.delete(stream);
    if (this.subscribers.size === 0 && !this.finished) this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.#abort.abort();
    this.onClosed(this);
  }

  #publish(view: JobView): void {
    if (this.latest && view.version <= this.latest.version && !(isTerminal(view) && !isTerminal(this.latest))) return;
    this.latest = view;
    // Set before the fan-out starts: it ends each stream as it hands it the final state.
    if (isTerminal(view)) this.finished = true;
    this.#latestAt = performance.now();
    this.observer?.onState?.(view);
    this.#markReady();
    void this.#fanOut();
  }

  /** The final state was published (the fan-out ends the streams): no upstream any more. */
  #finish(): void {
    this.onClosed(this);
  }

  #fail(err: unknown): void {
    this.finished = true;
    this.#failReady(err);
    for (const s of this.subscribers) s.fail(err);
    this.onClosed(this);
  }

  async #run(): Promise<void> {
    let attempt = 0;
    for (;;) {
      try {
        for await (const view of this.jobs.watch(this.tenant, this.id, { signal: this.#abort.signal })) {
          if (this.stopped) return;
          attempt = 0;
          this.#publish(view);
          if (isTerminal(view)) {
            this.#finish();
            return;
          }
        }
        if (this.stopped) return;
        // The watch ended without a final state (the upstream was cut): watch again.
      } catch (err) {
        if (this.stopped) return;
        const retryable = (isCodedError(err) && err.retryable) || isTransient(err);
        if (!retryable || attempt >= RETRY_ATTEMPTS) {
          this.#fail(err);
          return;
        }
        this.logger?.warn({ err, job: this.id, attempt }, 'job watch failed; watching again');
      }
      attempt++;
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 10))));
      if (this.stopped) return;
    }
  }
}

export class JobWatchHub {
  readonly #feeds = new Map<string, Feed>();
  readonly #jobs: JobService;
  readonly #logger: Logger | undefined;
  readonly #observer: HubObserver | undefined;
  #subscribers = 0;

  constructor(jobs: JobService, logger?: Logger, observer?: HubObserver) {
    this.#jobs = jobs;
    this.#logger = logger;
    this.#observer = observer;
  }

  /** Subscribers now attached, across jobs. */
  get subscriberCount(): number {
    return this.#subscribers;
  }

  /** Upstream watches now open. */
  get feedCount(): number {
    return this.#feeds.size;
  }

  /**
   * Follows a job. Resolves once the job's current state is known (so an unknown job, or another
   * tenant's, rejects here with the job service's NOT_FOUND), then yields that state first.
   */
  async subscribe(tenant: string, id: string): Promise<JobUpdateStream> {
    const key = `${tenant}\u0000${id}`;
    let feed = this.#feeds.get(key);
    if (!feed) {
      const created: Feed = new Feed(tenant, id, this.#jobs, (f) => {
        if (this.#feeds.get(key) === f) this.#feeds.delete(key);
      }, this.#logger, this.#observer);
      feed = created;
      this.#feeds.set(key, created);
    }
    const owner = feed;
    let attached = true;
    this.#subscribers++;
    const stream = new JobUpdateStream(() => {
      if (!attached) return;
      attached = false;
      this.#subscribers--;
      owner.remove(stream);
    }, owner.memo);
    owner.add(stream);
    try {
      await owner.ready;
    } catch (err) {
      void stream.return();
      throw err;
    }
    return stream;
  }

  /** Ends every feed (shutdown): subscribers' streams end, upstream watches stop. */
  close(): void {
    for (const feed of [...this.#feeds.values()]) {
      for (const s of [...feed.subscribers]) s.end();
      feed.stop();
    }
  }
}
