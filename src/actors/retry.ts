// Retry policy for activities: how many attempts, how long to wait between them, which failures
// are final. Pure: the instance runtime applies it.
import type { ErrorInfo } from '../common/errors.ts';
import type { RetryPolicy } from './context.ts';

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  firstBackoffMs: 100,
  backoffCoefficient: 2,
  maxBackoffMs: 10_000,
  nonRetryableCodes: Object.freeze([]) as readonly string[],
});

export function resolveRetryPolicy(partial: Partial<RetryPolicy> | undefined, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const p = { ...base, ...(partial ?? {}) };
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) throw new RangeError(`retry.maxAttempts must be an integer >= 1, got ${p.maxAttempts}`);
  if (!(p.firstBackoffMs >= 0)) throw new RangeError(`retry.firstBackoffMs must be >= 0, got ${p.firstBackoffMs}`);
  if (!(p.backoffCoefficient >= 1)) throw new RangeError(`retry.backoffCoefficient must be >= 1, got ${p.backoffCoefficient}`);
  if (!(p.maxBackoffMs >= 0)) throw new RangeError(`retry.maxBackoffMs must be >= 0, got ${p.maxBackoffMs}`);
  return p;
}

/** The wait before attempt `attempt + 1`, after `attempt` attempts failed (attempt >= 1). */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const raw = policy.firstBackoffMs * Math.pow(policy.backoffCoefficient, attempt - 1);
  return Math.min(policy.maxBackoffMs, raw);
}

/** Whether a failed attempt should be tried again. */
export function shouldRetry(policy: RetryPolicy, attempt: number, error: ErrorInfo): boolean {
  if (attempt >= policy.maxAttempts) return false;
  if (!error.retryable) return false;
  return !policy.nonRetryableCodes.includes(error.code);
}
