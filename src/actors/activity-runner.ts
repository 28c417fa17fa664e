// Runs one activity call to its end: attempts through the dispatcher, a per-attempt deadline,
// backoff between retryable failures, abort when the instance cancels the step or goes away.
// Retry state lives in memory: if the host dies mid-retry, the new owner starts the call again
// from attempt 1 (the call was in flight; its result was never recorded).
import { toErrorInfo, type ErrorInfo } from '../common/errors.ts';
import type { CallOptions, RetryPolicy } from './context.ts';
import type { ActivityRequest, Dispatcher } from './dispatcher.ts';
import { ActivityTimeoutError, CodedError } from './errors.ts';
import { backoffMs, resolveRetryPolicy, shouldRetry } from './retry.ts';

export type ActivityOutcome = { ok: true; value: unknown; attempts: number } | { ok: false; error: ErrorInfo; attempts: number };

export interface ActivityCall {
  instanceId: string;
  generation: number;
  seq: number;
  name: string;
  input: unknown;
  options: CallOptions | undefined;
}

class Aborted extends CodedError {
  constructor() {
    super('ABORTED', 'the activity call was abandoned by its instance');
  }
}

export class ActivityRunner {
  readonly #dispatcher: Dispatcher;
  readonly #defaultPolicy: RetryPolicy;
  readonly #inFlight = new Map<number, AbortController>();
  readonly #idleWaiters: Array<() => void> = [];

  constructor(dispatcher: Dispatcher, defaultPolicy: RetryPolicy) {
    this.#dispatcher = dispatcher;
    this.#defaultPolicy = defaultPolicy;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts the call; `onDone` runs once with its outcome unless the call is aborted. */
  run(call: ActivityCall, onDone: (outcome: ActivityOutcome) => void): void {
    const controller = new AbortController();
    this.#inFlight.set(call.seq, controller);
    this.#attempts(call, controller.signal).then(
      (outcome) => {
        if (this.#inFlight.get(call.seq) === controller) this.#forget(call.seq);
        if (!controller.signal.aborted) onDone(outcome);
      },
      () => {
        if (this.#inFlight.get(call.seq) === controller) this.#forget(call.seq);
      },
    );
  }

  abort(seq: number): void {
    const c = this.#inFlight.get(seq);
    if (c) {
      this.#forget(seq);
      c.abort(new Aborted());
    }
  }

  abortAll(): void {
    for (const seq of [...this.#inFlight.keys()]) this.abort(seq);
  }

  /** Resolves when no call is in flight, or after `ms`. */
  idle(ms: number): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#idleWaiters.push(done);
    });
  }

  #forget(seq: number): void {
    this.#inFlight.delete(seq);
    if (this.#inFlight.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #attempts(call: ActivityCall, signal: AbortSignal): Promise<ActivityOutcome> {
    let policy: RetryPolicy;
    try {
      policy = resolveRetryPolicy(call.options?.retry, this.#defaultPolicy);
    } catch (err) {
      return { ok: false, error: { code: 'INVALID_ARGUMENT', message: (err as Error).message, retryable: false }, attempts: 0 };
    }
    const timeoutMs = call.options?.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw signal.reason;
      let error: ErrorInfo;
      try {
        const value = await this.#attempt(call, attempt, timeoutMs, signal);
        return { ok: true, value, attempts: attempt };
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        error = toErrorInfo(err, 'ACTIVITY_ERROR');
      }
      if (!shouldRetry(policy, attempt, error)) return { ok: false, error, attempts: attempt };
      await sleep(backoffMs(policy, attempt), signal);
    }
  }

  #attempt(call: ActivityCall, attempt: number, timeoutMs: number | undefined, parent: AbortSignal): Promise<unknown> {
    const controller = new AbortController();
    const onParentAbort = () => controller.abort(parent.reason);
    parent.addEventListener('abort', onParentAbort, { once: true });
    const request: ActivityRequest = {
      instanceId: call.instanceId,
      generation: call.generation,
      seq: call.seq,
      activityId: `${call.instanceId}/${call.generation}/${call.seq}`,
      name: call.name,
      input: call.input,
      attempt,
      deadline: timeoutMs === undefined ? Infinity : Date.now() + timeoutMs,
      placementKey: call.options?.placementKey ?? call.instanceId,
      signal: controller.signal,
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const work = this.#dispatcher.dispatch(request);
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    };
    if (timeoutMs === undefined) {
      return work.finally(cleanup);
    }
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ActivityTimeoutError(call.name, timeoutMs);
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    });
    // A late result after the timeout is ignored; its rejection must not go unhandled.
    work.catch(() => undefined);
    return Promise.race([work, timeout]).finally(cleanup);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
