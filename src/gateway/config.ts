// Every setting of the gateway in one place: the environment variable (and CLI flag) that sets
// it, its default, and its validation. `patchwork gateway`, the README's table and the Kubernetes
// drift test all read this list, so a setting cannot exist in one and not the others.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CodedError } from '../common/errors.ts';

const MB = 1024 * 1024;

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

/** One setting: its env var, CLI flag, default and meaning (the README table is made of these). */
export interface SettingSpec {
  key: keyof GatewayConfig;
  env: string;
  flag?: string;
  default: string;
  description: string;
}

export const GATEWAY_SETTINGS: readonly SettingSpec[] = [
  { key: 'port', env: 'PATCHWORK_PORT', flag: '--port', default: '4000', description: 'HTTP and WebSocket port (GraphQL, uploads, blobs, probes, metrics)' },
  { key: 'host', env: 'PATCHWORK_HOST', flag: '--host', default: '0.0.0.0', description: 'address to listen on' },
  { key: 'natsUrl', env: 'PATCHWORK_NATS_URL', flag: '--nats', default: 'nats://127.0.0.1:4222', description: 'NATS server(s) with JetStream, comma-separated' },
  { key: 'namespace', env: 'PATCHWORK_NAMESPACE', flag: '--namespace', default: 'job', description: 'prefix of the stream, subjects and buckets (several deployments may share one NATS)' },
  { key: 'jetstreamReplicas', env: 'PATCHWORK_JETSTREAM_REPLICAS', default: '1', description: 'replicas of the stream and buckets this process creates when they do not exist yet (3 on a three-server NATS cluster)' },
  { key: 'tokens', env: 'PATCHWORK_TOKENS', default: '(none)', description: 'API tokens: `tokenA=tenantA,tokenB=tenantB`; with no tokens at all the gateway is open as tenant `local`' },
  { key: 'tokensFile', env: 'PATCHWORK_TOKENS_FILE', flag: '--tokens-file', default: '(none)', description: 'file with one `token=tenant` per line (# comments); merged with PATCHWORK_TOKENS' },
  { key: 'publicUrl', env: 'PATCHWORK_PUBLIC_URL', default: '(none)', description: 'absolute base URL for image `url`s (e.g. https://fill.example.com); relative `/blobs/<id>` when unset' },
  { key: 'webDir', env: 'PATCHWORK_WEB_DIR', default: 'src/gateway/web/dist', description: 'static web page served at `/` when the directory exists (relative paths: from the install directory)' },
  { key: 'graphiql', env: 'PATCHWORK_GRAPHIQL', default: 'true outside production', description: 'serve the offline GraphiQL page at /graphiql' },
  { key: 'maxUploadBytes', env: 'PATCHWORK_MAX_UPLOAD_BYTES', default: String(25 * MB), description: 'largest upload body (413 PAYLOAD_TOO_LARGE above)' },
  { key: 'maxImagePixels', env: 'PATCHWORK_MAX_IMAGE_PIXELS', default: '40000000', description: 'largest image, width × height' },
  { key: 'uploadTimeoutMs', env: 'PATCHWORK_UPLOAD_TIMEOUT_MS', default: '30000', description: 'an upload body must arrive within this time (408 otherwise)' },
  { key: 'maxRequestBytes', env: 'PATCHWORK_MAX_REQUEST_BYTES', default: String(1 * MB), description: 'largest GraphQL request body (query + variables)' },
  { key: 'maxQueryDepth', env: 'PATCHWORK_MAX_QUERY_DEPTH', default: '12', description: 'deepest selection a GraphQL operation may have' },
  { key: 'maxQueryCost', env: 'PATCHWORK_MAX_QUERY_COST', default: '10000', description: 'largest estimated cost of an operation (fields × list sizes)' },
  { key: 'rateLimitPerSecond', env: 'PATCHWORK_RATE_LIMIT_PER_SECOND', default: '50', description: 'requests per second per tenant, sustained (GraphQL operations, uploads, downloads)' },
  { key: 'rateLimitBurst', env: 'PATCHWORK_RATE_LIMIT_BURST', default: '200', description: 'requests per tenant allowed at once above the sustained rate' },
  { key: 'maxRunningJobsPerTenant', env: 'PATCHWORK_MAX_RUNNING_JOBS_PER_TENANT', default: '4', description: 'running jobs per tenant; more wait as QUEUED (passed to the job service)' },
  { key: 'maxSubscriptionsPerConnection', env: 'PATCHWORK_MAX_SUBSCRIPTIONS_PER_CONNECTION', default: '100', description: 'subscriptions one WebSocket may hold at once' },
  { key: 'drainMs', env: 'PATCHWORK_DRAIN_MS', default: '10000', description: 'on SIGTERM: longest wait for requests and job activities in flight' },
  { key: 'logLevel', env: 'PATCHWORK_LOG_LEVEL', flag: '--log-level', default: 'info', description: 'pino log level' },
  { key: 'production', env: 'NODE_ENV', default: '(unset)', description: '`production`: no stack traces in errors, no GraphiQL' },
];

const configSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(4000),
  host: z.string().min(1).default('0.0.0.0'),
  natsUrl: z.string().min(1).default('nats://127.0.0.1:4222'),
  namespace: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a lower-case letter, then up to 31 of a-z, 0-9, _ and -').default('job'),
  jetstreamReplicas: z.coerce.number().int().min(1).max(5).default(1),
  tokens: z.string().optional(),
  tokensFile: z.string().optional(),
  publicUrl: z.url().optional(),
  webDir: z.string().default('src/gateway/web/dist'),
  graphiql: bool.optional(),
  maxUploadBytes: positiveInt.default(25 * MB),
  maxImagePixels: positiveInt.default(40_000_000),
  uploadTimeoutMs: positiveInt.default(30_000),
  maxRequestBytes: positiveInt.default(1 * MB),
  maxQueryDepth: positiveInt.default(12),
  maxQueryCost: positiveInt.default(10_000),
  rateLimitPerSecond: z.coerce.number().positive().default(50),
  rateLimitBurst: positiveInt.default(200),
  maxRunningJobsPerTenant: positiveInt.default(4),
  maxSubscriptionsPerConnection: positiveInt.default(100),
  drainMs: nonNegativeInt.default(10_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  production: z.boolean().default(false),
});

export type GatewayConfigInput = z.input<typeof configSchema>;
type ParsedConfig = z.output<typeof configSchema>;

export interface GatewayConfig extends Omit<ParsedConfig, 'graphiql'> {
  graphiql: boolean;
  /** token → tenant, from `tokens` and `tokensFile`; empty = open gateway. */
  tokenMap: Map<string, string>;
}

/** Parses `token=tenant` pairs separated by commas or new lines (# starts a comment line). */
export function parseTokenList(text: string, source: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.trim();
    if (!entry || entry.startsWith('#')) continue;
    const eq = entry.indexOf('=');
    const token = eq > 0 ? entry.slice(0, eq).trim() : '';
    const tenant = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!token || !/^[A-Za-z0-9_-]{1,64}$/.test(tenant)) {
      throw new CodedError('BAD_CONFIG', `${source}: entry '${entry.length > 12 ? entry.slice(0, 4) + '…' : entry}' is not 'token=tenant' (tenant: 1-64 of A-Z, a-z, 0-9, _ and -).`);
    }
    if (token.length < 8) throw new CodedError('BAD_CONFIG', `${source}: the token of tenant '${tenant}' is shorter than 8 characters; use a long random token.`);
    if (map.has(token) && map.get(token) !== tenant) throw new CodedError('BAD_CONFIG', `${source}: one token is given to two tenants ('${map.get(token)}' and '${tenant}').`);
    map.set(token, tenant);
  }
  return map;
}

/** Reads the settings from environment variables, then applies explicit overrides (CLI flags, tests). */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env, overrides: GatewayConfigInput = {}): GatewayConfig {
  const fromEnv: Record<string, unknown> = {};
  for (const s of GATEWAY_SETTINGS) {
    const v = env[s.env];
    if (v === undefined || v === '') continue;
    fromEnv[s.key] = s.key === 'production' ? v === 'production' : v;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const parsed = configSchema.safeParse({ ...fromEnv, ...defined });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const spec = GATEWAY_SETTINGS.find((s) => s.key === i.path[0]);
      return `${spec ? spec.env : i.path.join('.')}: ${i.message}`;
    });
    throw new CodedError('BAD_CONFIG', `invalid gateway settings: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  const tokenMap = new Map<string, string>();
  if (c.tokens) for (const [k, v] of parseTokenList(c.tokens, 'PATCHWORK_TOKENS')) tokenMap.set(k, v);
  if (c.tokensFile) {
    let text: string;
    try {
      text = readFileSync(c.tokensFile, 'utf8');
    } catch (err) {
      throw new CodedError('BAD_CONFIG', `PATCHWORK_TOKENS_FILE: cannot read ${c.tokensFile}: ${(err as Error).message}`);
    }
    for (const [k, v] of parseTokenList(text, c.tokensFile)) tokenMap.set(k, v);
  }
  return { ...c, graphiql: c.graphiql ?? !c.production, tokenMap };
}
