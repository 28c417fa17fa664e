// Every setting of a kernel node and of the kernel client, with its environment variable, its
// command-line flag and its default, in one table. `patchwork kernel` builds its flags from this
// table, docs/architecture.md lists it, and the Kubernetes manifests are checked against it, so a
// setting exists here or nowhere. Flags win over environment variables, which win over defaults.
import { hostname } from 'node:os';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { CodedError } from '../../common/errors.ts';

export type SettingKind = 'string' | 'int' | 'bool' | 'file';

export interface Setting {
  /** Key in the parsed config object. */
  key: string;
  env: string;
  /** Long flag of `patchwork kernel`, without the dashes; absent for client-only settings. */
  flag?: string;
  kind: SettingKind;
  description: string;
  /** Default as text (for docs); absent when unset means "off" or is computed (see description). */
  default?: string;
}

/** Settings of a kernel node (`patchwork kernel`). */
export const NODE_SETTINGS = [
  { key: 'natsUrl', env: 'PATCHWORK_NATS_URL', flag: 'nats', kind: 'string', default: 'nats://127.0.0.1:4222', description: 'NATS server URL(s), comma-separated' },
  { key: 'namespace', env: 'PATCHWORK_NAMESPACE', flag: 'namespace', kind: 'string', default: 'job', description: 'namespace of stream, bucket and subject names (as the actor runtime uses)' },
  { key: 'blobBucket', env: 'PATCHWORK_BLOB_BUCKET', flag: 'blob-bucket', kind: 'string', description: 'Object Store bucket of blobs (default: <namespace>_blobs)' },
  { key: 'jetstreamReplicas', env: 'PATCHWORK_JETSTREAM_REPLICAS', flag: 'jetstream-replicas', kind: 'int', default: '1', description: 'replicas of the JetStream buckets this process creates when they do not exist yet (3 on a three-server NATS cluster; at most the number of servers)' },
  { key: 'host', env: 'PATCHWORK_KERNEL_HOST', flag: 'host', kind: 'string', default: '0.0.0.0', description: 'address the gRPC server binds' },
  { key: 'port', env: 'PATCHWORK_KERNEL_PORT', flag: 'port', kind: 'int', default: '50051', description: 'gRPC port (0 picks a free one)' },
  { key: 'advertise', env: 'PATCHWORK_KERNEL_ADVERTISE', flag: 'advertise', kind: 'string', description: 'host[:port] clients dial, registered in the node bucket (default: the bound host if specific, else the host name; port: the bound port)' },
  { key: 'nodeId', env: 'PATCHWORK_KERNEL_NODE_ID', flag: 'node-id', kind: 'string', description: 'node id in the node bucket (default: <hostname>-<pid>)' },
  { key: 'workers', env: 'PATCHWORK_KERNEL_WORKERS', flag: 'workers', kind: 'int', description: 'worker threads running kernel code (default: number of cores)' },
  { key: 'maxCalls', env: 'PATCHWORK_KERNEL_MAX_CALLS', flag: 'max-calls', kind: 'int', description: 'calls admitted at once, running or queued; more are refused with RESOURCE_EXHAUSTED (default: 4 x workers)' },
  { key: 'blobCacheMb', env: 'PATCHWORK_KERNEL_BLOB_CACHE_MB', flag: 'blob-cache-mb', kind: 'int', default: '256', description: 'blob cache size (MiB): inputs and tile results, LRU' },
  { key: 'jobCacheMb', env: 'PATCHWORK_KERNEL_JOB_CACHE_MB', flag: 'job-cache-mb', kind: 'int', default: '1024', description: 'prepared-job cache size (MiB): pyramids and tilings, LRU' },
  { key: 'metricsPort', env: 'PATCHWORK_KERNEL_METRICS_PORT', flag: 'metrics-port', kind: 'int', default: '9464', description: 'HTTP port of /metrics, /healthz and /readyz (0 picks a free one)' },
  { key: 'heartbeatMs', env: 'PATCHWORK_KERNEL_HEARTBEAT_MS', flag: 'heartbeat-ms', kind: 'int', default: '2000', description: 'interval of the node-bucket heartbeat' },
  { key: 'drainTimeoutMs', env: 'PATCHWORK_KERNEL_DRAIN_TIMEOUT_MS', flag: 'drain-timeout-ms', kind: 'int', default: '60000', description: 'on SIGTERM, longest wait for calls in flight before exiting anyway' },
  { key: 'hints', env: 'PATCHWORK_KERNEL_HINTS', flag: 'hints', kind: 'bool', default: 'true', description: 'push tile results to peer nodes of the same job over NATS (a cache warmer; results still go to the Object Store)' },
  { key: 'warmUp', env: 'PATCHWORK_KERNEL_WARM_UP', flag: 'warm-up', kind: 'bool', default: 'true', description: 'on start, run a small synthetic fill through the worker pool before taking calls, so the first job does not pay for compiling the kernel (~0.3 s once; a fresh node\'s first fill cost ~1 s more CPU without it)' },
  { key: 'teamWaitMs', env: 'PATCHWORK_KERNEL_TEAM_WAIT_MS', flag: 'team-wait-ms', kind: 'int', default: '30000', description: "in a team run, longest wait for a peer's results of a step (at least 10x the step's own time) before computing the peer's share itself for the rest of the run" },
  { key: 'tlsCert', env: 'PATCHWORK_KERNEL_TLS_CERT', flag: 'tls-cert', kind: 'file', description: 'PEM certificate chain of the gRPC server (with --tls-key turns TLS on)' },
  { key: 'tlsKey', env: 'PATCHWORK_KERNEL_TLS_KEY', flag: 'tls-key', kind: 'file', description: 'PEM private key of the gRPC server' },
  { key: 'tlsClientCa', env: 'PATCHWORK_KERNEL_TLS_CLIENT_CA', flag: 'tls-client-ca', kind: 'file', description: 'PEM CA bundle: when set, clients must present a certificate it signed (mutual TLS)' },
  { key: 'logLevel', env: 'PATCHWORK_LOG_LEVEL', flag: 'log-level', kind: 'string', default: 'info', description: 'pino log level: fatal, error, warn, info, debug, trace, silent' },
] as const satisfies readonly Setting[];

/** Settings of the kernel client (the actor runtime's dispatcher, in the gateway process). */
export const CLIENT_SETTINGS = [
  { key: 'tlsCa', env: 'PATCHWORK_KERNEL_CLIENT_TLS_CA', kind: 'file', description: 'PEM CA bundle that signed the nodes\' certificates (turns TLS on for calls to nodes)' },
  { key: 'tlsCert', env: 'PATCHWORK_KERNEL_CLIENT_TLS_CERT', kind: 'file', description: 'PEM client certificate for mutual TLS' },
  { key: 'tlsKey', env: 'PATCHWORK_KERNEL_CLIENT_TLS_KEY', kind: 'file', description: 'PEM private key of the client certificate' },
  { key: 'tlsServerName', env: 'PATCHWORK_KERNEL_CLIENT_TLS_SERVER_NAME', kind: 'string', description: 'name node certificates are checked against (when nodes are dialled by IP)' },
  { key: 'deadlineMs', env: 'PATCHWORK_KERNEL_CLIENT_DEADLINE_MS', kind: 'int', default: '300000', description: 'deadline of one call to a node, per attempt' },
  { key: 'attempts', env: 'PATCHWORK_KERNEL_CLIENT_ATTEMPTS', kind: 'int', default: '6', description: 'attempts per call (retries with backoff, failing over between nodes)' },
] as const satisfies readonly Setting[];

/** Every environment variable the kernel reads. */
export const KERNEL_ENV_VARS: readonly string[] = [...NODE_SETTINGS, ...CLIENT_SETTINGS].map((s) => s.env);

const nodeSchema = z.object({
  natsUrl: z.string().min(1),
  namespace: z.string().min(1),
  blobBucket: z.string().min(1).optional(),
  jetstreamReplicas: z.number().int().min(1).max(5),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  advertise: z
    .string()
    .regex(/^[^\s:]+(:\d+)?$/, 'must be host or host:port')
    .optional(),
  nodeId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,128}$/, 'use 1-128 of A-Z a-z 0-9 _ -')
    .optional(),
  workers: z.number().int().min(1).max(256),
  maxCalls: z.number().int().min(1).max(100_000),
  blobCacheMb: z.number().int().min(1),
  jobCacheMb: z.number().int().min(1),
  metricsPort: z.number().int().min(0).max(65535),
  heartbeatMs: z.number().int().min(100).max(600_000),
  drainTimeoutMs: z.number().int().min(0),
  hints: z.boolean(),
  warmUp: z.boolean(),
  teamWaitMs: z.number().int().min(100),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  tlsClientCa: z.string().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

export type NodeConfig = z.infer<typeof nodeSchema> & { nodeId: string };

const clientSchema = z.object({
  tlsCa: z.string().optional(),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  tlsServerName: z.string().optional(),
  deadlineMs: z.number().int().min(1),
  attempts: z.number().int().min(1).max(100),
});

export type ClientConfig = z.infer<typeof clientSchema>;

type Raw = Record<string, string | number | boolean | undefined>;

function fromText(s: Setting, text: string): string | number | boolean {
  if (s.kind === 'int') {
    if (!/^-?\d+$/.test(text.trim())) throw new CodedError('BAD_CONFIG', `${s.env} (--${s.flag ?? s.key}) must be an integer, got "${text}"`);
    return Number(text);
  }
  if (s.kind === 'bool') {
    const t = text.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
    throw new CodedError('BAD_CONFIG', `${s.env} must be true or false, got "${text}"`);
  }
  return text;
}

/** Merges flags (already typed by commander), environment and defaults for `settings`. */
function resolve(settings: readonly Setting[], flags: Raw, env: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  for (const s of settings) {
    const flag = flags[s.key];
    if (flag !== undefined) out[s.key] = flag;
    else if (env[s.env] !== undefined && env[s.env] !== '') out[s.key] = fromText(s, env[s.env]!);
    else if (s.default !== undefined) out[s.key] = fromText(s, s.default);
  }
  return out;
}

function explain(error: z.ZodError, settings: readonly Setting[]): string {
  return error.issues
    .map((i) => {
      const s = settings.find((x) => x.key === i.path[0]);
      return `${s ? `${s.env} (--${s.flag ?? s.key})` : i.path.join('.')}: ${i.message}`;
    })
    .join('; ');
}

/** The node's config from flags and environment; throws CodedError BAD_CONFIG naming the setting. */
export function nodeConfig(flags: Raw = {}, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const raw = resolve(NODE_SETTINGS, flags, env);
  raw.workers ??= availableParallelism();
  raw.maxCalls ??= 4 * (raw.workers as number);
  const parsed = nodeSchema.safeParse(raw);
  if (!parsed.success) throw new CodedError('BAD_CONFIG', `bad kernel node setting: ${explain(parsed.error, NODE_SETTINGS)}`);
  const c = parsed.data;
  if (!!c.tlsCert !== !!c.tlsKey) throw new CodedError('BAD_CONFIG', 'TLS needs both PATCHWORK_KERNEL_TLS_CERT (--tls-cert) and PATCHWORK_KERNEL_TLS_KEY (--tls-key)');
  if (c.tlsClientCa && !c.tlsCert) throw new CodedError('BAD_CONFIG', 'PATCHWORK_KERNEL_TLS_CLIENT_CA (mutual TLS) needs the server certificate and key too');
  return { ...c, nodeId: c.nodeId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 100)}-${process.pid}` };
}

/** The client's config from the environment (and overrides). */
export function clientConfig(overrides: Raw = {}, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const parsed = clientSchema.safeParse(resolve(CLIENT_SETTINGS, overrides, env));
  if (!parsed.success) throw new CodedError('BAD_CONFIG', `bad kernel client setting: ${explain(parsed.error, CLIENT_SETTINGS)}`);
  const c = parsed.data;
  if (!!c.tlsCert !== !!c.tlsKey) throw new CodedError('BAD_CONFIG', 'client TLS needs both PATCHWORK_KERNEL_CLIENT_TLS_CERT and PATCHWORK_KERNEL_CLIENT_TLS_KEY');
  if (c.tlsCert && !c.tlsCa) throw new CodedError('BAD_CONFIG', 'a client certificate needs PATCHWORK_KERNEL_CLIENT_TLS_CA too (TLS verifies the node)');
  return c;
}
