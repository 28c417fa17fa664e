// The orchestration context: the only door from orchestration code to the world. Everything an
// orchestration does that is not pure computation goes through it, so the runtime can record it
// and replay it. Orchestration modules (src/actors/orchestrations/) import this file's types and
// pure helpers only; a test walks their import graph and fails on any I/O module.

export interface RetryPolicy {
  /** Attempts in total, including the first; 1 means no retry. */
  maxAttempts: number;
  /** Wait before the second attempt. */
  firstBackoffMs: number;
  /** Each further wait is the previous one times this. */
  backoffCoefficient: number;
  /** No wait is longer than this. */
  maxBackoffMs: number;
  /** Error codes never retried (in addition to errors marked non-retryable). */
  nonRetryableCodes: readonly string[];
}

export interface CallOptions {
  retry?: Partial<RetryPolicy>;
  /** Per attempt; the dispatcher receives it as a deadline. Default: none. */
  timeoutMs?: number;
  /** Work with the same key goes to the same node while it lives (warm caches). Default: the instance id. */
  placementKey?: string;
}

export interface WaitOptions {
  /** Reject with WaitTimeoutError (code WAIT_TIMEOUT) after this long; a durable timer. */
  timeoutMs?: number;
}

export interface SubOptions {
  /** The child's instance id. Default: derived from this instance's id, generation and step. */
  id?: string;
}

export interface OrchestrationContext {
  readonly instanceId: string;
  /** 0 for the first run, +1 after each continueAsNew. */
  readonly generation: number;
  /** True while the code re-runs recorded steps after an activation. */
  readonly isReplaying: boolean;
  /** True once a client asked this instance to cancel. */
  readonly isCancelRequested: boolean;

  /** Runs an activity (at least once; its recorded result is never recomputed). */
  call<T = unknown>(activity: string, input?: unknown, options?: CallOptions): Promise<T>;
  /** A durable timer: survives restarts and host moves. */
  sleep(ms: number): Promise<void>;
  /** Resolves with the next event of that name raised to this instance (buffered if early). */
  waitForEvent<T = unknown>(name: string, options?: WaitOptions): Promise<T>;
  /** Runs another orchestration as a child instance with its own history, and awaits its result. */
  callSub<T = unknown>(orchestration: string, input?: unknown, options?: SubOptions): Promise<T>;
  /** Ends this generation and starts the orchestration again with a fresh, short history. */
  continueAsNew(input: unknown): Promise<never>;
  /** The current time in ms since the epoch, recorded so replay sees the same value. */
  now(): number;
  /** A deterministic pseudo-random number in [0, 1), seeded per instance. */
  random(): number;
  /** A deterministic RFC 4122 version-4 UUID from the same seeded generator. */
  uuid(): string;
  /**
   * Records status fields (progress, level, preview ids...) as an event and merges them into the
   * instance index's summary, for listing and for watchers.
   */
  setStatus(fields: Record<string, unknown>): void;
}

/** An orchestration: ordinary async code against the context. */
export type Orchestration<I = never, O = unknown> = (ctx: OrchestrationContext, input: I) => Promise<O>;

export type OrchestrationRegistry = Readonly<Record<string, Orchestration<never, unknown>>>;
