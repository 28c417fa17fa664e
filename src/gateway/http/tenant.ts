// Authentication and rate limiting for the plain HTTP endpoints (uploads, blobs): the same rules
// as GraphQL, answered as JSON `{error: {code, message}}`.
import type { Request, Response } from 'express';
import type { Authenticator } from '../auth.ts';
import { ErrorCode, httpStatusOf, restError, type GatewayErrorCode } from '../errors.ts';
import type { RateLimiter } from '../limits/rate-limiter.ts';

export function sendError(res: Response, code: GatewayErrorCode, message: string, reason?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(httpStatusOf(code)).json(restError(code, message, reason));
}

/** The caller's tenant, or null after answering 401 / 429. */
export function admit(req: Request, res: Response, auth: Authenticator, limiter: RateLimiter): string | null {
  const tenant = auth.tenantOf(req.headers.authorization);
  if (tenant === null) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    sendError(res, ErrorCode.unauthenticated, req.headers.authorization ? 'the token is not valid.' : 'send Authorization: Bearer <token>.');
    return null;
  }
  if (!limiter.take(tenant)) {
    res.setHeader('Retry-After', String(Math.max(1, limiter.retryAfterSeconds(tenant))));
    sendError(res, ErrorCode.rateLimited, 'too many requests; slow down and retry after the Retry-After seconds.');
    return null;
  }
  return tenant;
}
