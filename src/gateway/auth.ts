// Tokens to tenants. Every request (HTTP `Authorization: Bearer <token>`, WebSocket
// `connectionParams.authorization`) is resolved to a tenant here; everything after works with the
// tenant only. Tokens are compared in constant time: each configured token is hashed once, the
// presented one is hashed, and the digests are compared with timingSafeEqual against every entry
// (no early exit), so response time tells nothing about how much of a token was right.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The tenant of an open gateway (no tokens configured). */
export const LOCAL_TENANT = 'local';

export interface Authenticator {
  /** True when no tokens are configured: every caller is the local tenant. */
  readonly open: boolean;
  /** The tenant of an `Authorization` header value (`Bearer <token>`) or a bare token; null = unknown. */
  tenantOf(authorization: unknown): string | null;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function createAuthenticator(tokens: ReadonlyMap<string, string>): Authenticator {
  const entries = [...tokens].map(([token, tenant]) => ({ hash: digest(token), tenant }));
  if (entries.length === 0) return { open: true, tenantOf: () => LOCAL_TENANT };
  return {
    open: false,
    tenantOf(authorization) {
      if (typeof authorization !== 'string' || authorization.length > 4096) return null;
      const m = /^\s*(?:Bearer\s+)?(\S+)\s*$/i.exec(authorization);
      if (!m) return null;
      const presented = digest(m[1]);
      let found: string | null = null;
      for (const e of entries) if (timingSafeEqual(e.hash, presented) && found === null) found = e.tenant;
      return found;
    },
  };
}
