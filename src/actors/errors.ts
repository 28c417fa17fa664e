// The actor runtime's errors. Each has a stable code; `retryable` says whether the same call may
// succeed later; the message says how to fix the cause. Orchestration code may import these
// (they are pure) to tell a failed activity from a cancellation.
import { CodedError, type CodedErrorOptions, type ErrorInfo } from '../common/errors.ts';

export { CodedError, type ErrorInfo };

/** An activity failure that no retry can fix (bad input, a missing blob). */
export class TerminalError extends CodedError {
  constructor(code: string, message: string, options: Omit<CodedErrorOptions, 'retryable'> = {}) {
    super(code, message, { ...options, retryable: false });
    this.name = 'TerminalError';
  }
}

/** An activity failure that may pass (a node restarting, a timeout). */
export class RetryableError extends CodedError {
  constructor(code: string, message: string, options: Omit<CodedErrorOptions, 'retryable'> = {}) {
    super(code, message, { ...options, retryable: true });
    this.name = 'RetryableError';
  }
}

/** What `ctx.call` rejects with once an activity has failed for good (after its retries). */
export class ActivityFailedError extends CodedError {
  readonly activity: string;
  readonly failure: ErrorInfo;
  constructor(activity: string, cause: ErrorInfo) {
    super(cause.code, `activity '${activity}' failed: ${cause.message}`, { retryable: false, details: { activity, ...(cause.details ?? {}) } });
    this.name = 'ActivityFailedError';
    this.activity = activity;
    this.failure = cause;
  }
}

/** What `ctx.callSub` rejects with when the sub-orchestration failed, was canceled or terminated. */
export class SubOrchestrationFailedError extends CodedError {
  readonly childId: string;
  readonly failure: ErrorInfo;
  constructor(childId: string, cause: ErrorInfo) {
    super(cause.code, `sub-orchestration '${childId}' did not complete: ${cause.message}`, { retryable: false, details: { childId } });
    this.name = 'SubOrchestrationFailedError';
    this.childId = childId;
    this.failure = cause;
  }
}

/** Pending waits reject with this when the instance is asked to cancel (client `cancel`). */
export class CanceledError extends CodedError {
  constructor(reason: string) {
    super('CANCELED', `the instance was canceled: ${reason}`, { retryable: false });
    this.name = 'CanceledError';
  }
}

/** `ctx.waitForEvent(name, {timeoutMs})` rejects with this when no event came in time. */
export class WaitTimeoutError extends CodedError {
  constructor(eventName: string, timeoutMs: number) {
    super('WAIT_TIMEOUT', `no '${eventName}' event arrived within ${timeoutMs} ms; raise it earlier or wait longer.`, { retryable: false, details: { eventName, timeoutMs } });
    this.name = 'WaitTimeoutError';
  }
}

export class ActivityTimeoutError extends RetryableError {
  constructor(activity: string, timeoutMs: number) {
    super('ACTIVITY_TIMEOUT', `activity '${activity}' did not finish within its ${timeoutMs} ms timeout; raise the call's timeoutMs or make the activity faster.`, { details: { activity, timeoutMs } });
    this.name = 'ActivityTimeoutError';
  }
}

/** A replayed history no longer matches the code: the instance fails rather than guess. */
export class NonDeterminismError extends CodedError {
  constructor(instanceId: string, seq: number, expected: string, got: string) {
    super(
      'NON_DETERMINISM',
      `instance '${instanceId}' diverged from its history at step ${seq}: the history has ${expected}, but the code now ${got}. ` +
        'Orchestration code must replay existing histories unchanged: keep the old code for running instances (register the new version under a new name, e.g. "inpaint@2"), or terminate the instance and start it again.',
      { retryable: false, details: { instanceId, seq, expected, got } },
    );
    this.name = 'NonDeterminismError';
  }
}

/** This host's append was rejected: another host owns the instance now. */
export class FencedError extends CodedError {
  constructor(instanceId: string, expectedSeq: number, cause?: unknown) {
    super(
      'FENCED',
      `instance '${instanceId}' was taken over by another host (an append expecting last sequence ${expectedSeq} was rejected); this host stopped running it. Nothing to fix unless it happens often: then check host clocks and the lease TTL.`,
      { retryable: false, cause, details: { instanceId, expectedSeq } },
    );
    this.name = 'FencedError';
  }
}

export function unknownOrchestration(name: string, known: readonly string[]): CodedError {
  return new CodedError('UNKNOWN_ORCHESTRATION', `no orchestration named '${name}' is registered on this host (known: ${known.join(', ') || 'none'}); register it in the host's orchestrations.`, {
    details: { name },
  });
}

export function unknownActivity(name: string, known: readonly string[]): TerminalError {
  return new TerminalError('UNKNOWN_ACTIVITY', `no activity named '${name}' is registered with the dispatcher (known: ${known.join(', ') || 'none'}); register it, or fix the name in the orchestration.`, {
    details: { name },
  });
}

export function instanceNotFound(id: string): CodedError {
  return new CodedError('INSTANCE_NOT_FOUND', `no instance '${id}' exists; check the id, or start it first.`, { details: { id } });
}

export function invalidArgument(message: string): CodedError {
  return new CodedError('INVALID_ARGUMENT', message);
}
