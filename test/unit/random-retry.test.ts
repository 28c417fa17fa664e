import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/actors/random.ts';
import { backoffMs, resolveRetryPolicy, shouldRetry } from '../../src/actors/retry.ts';

test('the seeded generator repeats for a seed and differs across seeds', () => {
  const a = new SeededRandom(123);
  const b = new SeededRandom(123);
  const c = new SeededRandom(124);
  const xs = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(
    Array.from({ length: 100 }, () => b.next()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 100 }, () => c.next()),
    xs,
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1);
  // roughly uniform: the mean of 10,000 draws is near 0.5
  const r = new SeededRandom(9);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += r.next();
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
});

test('uuids are RFC 4122 version 4 and deterministic per seed', () => {
  const u = new SeededRandom(5).uuid();
  assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new SeededRandom(5).uuid(), u);
});

test('backoff grows by the coefficient up to the maximum', () => {
  const p = resolveRetryPolicy({ maxAttempts: 6, firstBackoffMs: 100, backoffCoefficient: 3, maxBackoffMs: 1000 });
  assert.deepEqual(
    [1, 2, 3, 4].map((a) => backoffMs(p, a)),
    [100, 300, 900, 1000],
  );
});

test('retries stop at maxAttempts, on non-retryable errors and on listed codes', () => {
  const p = resolveRetryPolicy({ maxAttempts: 3, nonRetryableCodes: ['BAD_INPUT'] });
  const retryable = { code: 'X', message: '', retryable: true };
  assert.equal(shouldRetry(p, 1, retryable), true);
  assert.equal(shouldRetry(p, 3, retryable), false);
  assert.equal(shouldRetry(p, 1, { ...retryable, retryable: false }), false);
  assert.equal(shouldRetry(p, 1, { ...retryable, code: 'BAD_INPUT' }), false);
  assert.throws(() => resolveRetryPolicy({ maxAttempts: 0 }), /maxAttempts/);
});
