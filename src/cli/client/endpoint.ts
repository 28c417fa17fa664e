// Where the gateway is and who we are: --endpoint / --token, else PATCHWORK_ENDPOINT /
// PATCHWORK_TOKEN, else the local cluster `patchwork up` starts (no token: it runs open).
import { ClientError } from './errors.ts';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4000';

export interface ConnectionFlags {
  endpoint?: string;
  token?: string;
}

export interface Connection {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:4000. */
  endpoint: string;
  token: string | undefined;
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const raw = flags.endpoint ?? env.PATCHWORK_ENDPOINT ?? DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClientError('BAD_OPTION', `--endpoint "${raw}" is not a URL; use e.g. ${DEFAULT_ENDPOINT}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientError('BAD_OPTION', `--endpoint must be an http(s) URL, got "${raw}".`);
  // Accept the GraphQL URL too: the client adds /graphql, /uploads and /blobs itself.
  const path = url.pathname.replace(/\/+$/, '').replace(/\/graphql$/, '');
  const token = flags.token ?? env.PATCHWORK_TOKEN;
  return { endpoint: `${url.origin}${path}`, token: token === '' ? undefined : token };
}
