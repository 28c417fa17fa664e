// NATS credentials from the environment, for every Patchwork process that connects to NATS
// (gateway, kernel node). nats.js ignores a user and password written into the server URL, and a
// password in a URL would be printed wherever the URL is (logs, errors), so they come from their
// own variables: in Kubernetes, from the NATS credentials Secret (deploy/k8s).

import { CodedError } from './errors.ts';

export interface NatsAuthSetting {
  env: string;
  description: string;
}

/** The environment variables of NATS credentials; the deployment manifests are checked against this table. */
export const NATS_AUTH_SETTINGS = [
  { env: 'PATCHWORK_NATS_USER', description: 'NATS user name (with PATCHWORK_NATS_PASSWORD); unset: connect without credentials' },
  { env: 'PATCHWORK_NATS_PASSWORD', description: 'password of PATCHWORK_NATS_USER' },
] as const satisfies readonly NatsAuthSetting[];

export interface NatsAuth {
  user?: string;
  pass?: string;
}

/** `{ user, pass }` from PATCHWORK_NATS_USER / PATCHWORK_NATS_PASSWORD, or `{}` when neither is set. */
export function natsAuthFromEnv(env: NodeJS.ProcessEnv = process.env): NatsAuth {
  const user = env.PATCHWORK_NATS_USER || undefined;
  const pass = env.PATCHWORK_NATS_PASSWORD || undefined;
  if (!user && !pass) return {};
  if (!user || !pass) {
    throw new CodedError('BAD_CONFIG', `NATS credentials need both PATCHWORK_NATS_USER and PATCHWORK_NATS_PASSWORD; only ${user ? 'the user' : 'the password'} is set.`);
  }
  return { user, pass };
}
