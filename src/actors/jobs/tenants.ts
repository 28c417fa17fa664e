// Tenants in keys: a tenant is any non-empty string from configuration (token=tenant), while KV
// keys allow only [-/_=.A-Za-z0-9]. Keys carry the tenant base64url-encoded, so two tenants never
// share a key and no tenant string can reach outside its own prefix.
import { CodedError } from '../../common/errors.ts';

export const MAX_TENANT_LENGTH = 256;

export function assertTenant(tenant: string): void {
  if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > MAX_TENANT_LENGTH) {
    throw new CodedError('INVALID_TENANT', `tenant '${String(tenant)}' is not valid: use 1-${MAX_TENANT_LENGTH} characters.`);
  }
}

/** The tenant as a KV key token. */
export function tenantKey(tenant: string): string {
  assertTenant(tenant);
  return Buffer.from(tenant, 'utf8').toString('base64url');
}
