// gRPC transport settings shared by node and client: message size limits, keepalive, TLS.
import { readFileSync } from 'node:fs';
import { ServerCredentials, credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { CodedError } from '../../common/errors.ts';

/**
 * Messages carry blob ids and small metadata only (the largest is a Step request listing a few
 * hundred result refs, well under 100 KiB), so both sides cap messages at 4 MiB, in both
 * directions: a message near the cap means someone put bulk data on the wire, which must fail
 * loudly instead of being carried.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const sizeLimits = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
};

/**
 * Keepalive: the client pings an idle-looking connection every 10 s and gives up after 5 s
 * without an answer, so a node that vanished without closing its socket (power loss, network
 * partition) fails the call as UNAVAILABLE well before its deadline; the server allows those pings.
 */
export const serverOptions: ChannelOptions = {
  ...sizeLimits,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
};

export function channelOptions(tlsServerName?: string): ChannelOptions {
  return {
    ...sizeLimits,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Calls are retried by the client's own policy (failover between nodes), not by the channel.
    'grpc.enable_retries': 0,
    ...(tlsServerName ? { 'grpc.ssl_target_name_override': tlsServerName, 'grpc.default_authority': tlsServerName } : {}),
  };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CodedError('BAD_CONFIG', `cannot read the ${what} at ${path}: ${(e as Error).message}`);
  }
}

export interface ServerTls {
  cert?: string;
  key?: string;
  clientCa?: string;
}

/** Plaintext, TLS (cert + key) or mutual TLS (plus the CA that must have signed client certs). */
export function serverCredentials(tls: ServerTls): ServerCredentials {
  if (!tls.cert || !tls.key) return ServerCredentials.createInsecure();
  const keyPair = { cert_chain: readPem(tls.cert, 'server certificate'), private_key: readPem(tls.key, 'server key') };
  const ca = tls.clientCa ? readPem(tls.clientCa, 'client CA bundle') : null;
  return ServerCredentials.createSsl(ca, [keyPair], !!ca);
}

export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

export function clientCredentials(tls: ClientTls): ChannelCredentials {
  if (!tls.ca) return credentials.createInsecure();
  const ca = readPem(tls.ca, 'CA bundle for kernel nodes');
  if (tls.cert && tls.key) return credentials.createSsl(ca, readPem(tls.key, 'client key'), readPem(tls.cert, 'client certificate'));
  return credentials.createSsl(ca);
}
