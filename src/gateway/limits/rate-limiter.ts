// A token bucket per tenant: `ratePerSecond` sustained, `burst` at once. In memory, per gateway
// replica: a tenant spread over N replicas gets up to N times the rate, which is what a limit
// against runaway clients needs (a billing quota would live in a shared store).
export interface RateLimiter {
  /** Takes one token; false when the tenant is over its rate. */
  take(tenant: string): boolean;
  /** Seconds until the tenant has a token again (for Retry-After). */
  retryAfterSeconds(tenant: string): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(ratePerSecond: number, burst: number, now: () => number = () => performance.now()): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const refill = (tenant: string): Bucket => {
    const t = now();
    let b = buckets.get(tenant);
    if (!b) {
      b = { tokens: burst, at: t };
      buckets.set(tenant, b);
      // Keep the map small: drop buckets that are full again (they carry no information).
      if (buckets.size > 10_000) for (const [k, v] of buckets) if (v.tokens >= burst) buckets.delete(k);
      return b;
    }
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * ratePerSecond);
    b.at = t;
    return b;
  };
  return {
    take(tenant) {
      const b = refill(tenant);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    retryAfterSeconds(tenant) {
      const b = refill(tenant);
      return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / ratePerSecond);
    },
  };
}
