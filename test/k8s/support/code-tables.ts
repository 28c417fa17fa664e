// What the code says a deployment may and must set, read from the code itself: the settings
// tables (every PATCHWORK_* variable with its default), the CLI's commands and flags (from the
// real `patchwork --help`), and the Dockerfile. The manifests are checked against these.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NATS_AUTH_SETTINGS } from '../../../src/common/nats-auth.ts';
import { GATEWAY_SETTINGS } from '../../../src/gateway/config.ts';
import { CLIENT_SETTINGS, NODE_SETTINGS } from '../../../src/kernel/cluster/config.ts';
import { repoRoot } from './render.ts';
import type { Container } from './workloads.ts';

export type Role = 'gateway' | 'kernel';

/** Variables of the platform, not of Patchwork, that a container may set (with why). */
export const PLATFORM_ENV: Record<string, string> = {
  TMPDIR: 'os.tmpdir(): where tsx keeps its transform cache (the root filesystem is read-only)',
};

interface TableSetting {
  env: string;
  default?: string;
}

const gatewaySettings: TableSetting[] = GATEWAY_SETTINGS.map((s) => ({ env: s.env, default: s.default }));
const kernelSettings: TableSetting[] = NODE_SETTINGS.map((s) => ({ env: s.env, default: 'default' in s ? s.default : undefined }));
const clientSettings: TableSetting[] = CLIENT_SETTINGS.map((s) => ({ env: s.env, default: 'default' in s ? s.default : undefined }));
const natsAuth: TableSetting[] = NATS_AUTH_SETTINGS.map((s) => ({ env: s.env }));

/**
 * Every variable a role reads. The gateway process also runs the kernel client (its job actors
 * call kernel nodes), so it reads the client's settings.
 */
export function roleSettings(role: Role): TableSetting[] {
  return role === 'gateway' ? [...gatewaySettings, ...clientSettings, ...natsAuth] : [...kernelSettings, ...natsAuth];
}

export function roleEnvNames(role: Role): Set<string> {
  return new Set(roleSettings(role).map((s) => s.env));
}

/** The value a role runs with for `env`: the manifest's, else the table's default. */
export function effectiveSetting(role: Role, env: Map<string, { value?: string }>, name: string): string | undefined {
  return env.get(name)?.value ?? roleSettings(role).find((s) => s.env === name)?.default;
}

/**
 * Settings a Kubernetes deployment must set explicitly, with why: the defaults are right for one
 * machine and wrong in a cluster.
 */
export const REQUIRED_ENV: Record<Role, Record<string, string>> = {
  gateway: {
    PATCHWORK_NATS_URL: 'the default is 127.0.0.1',
    PATCHWORK_NAMESPACE: 'gateway and kernel nodes must agree on it',
    PATCHWORK_PORT: 'the container port, probes and Service target it',
    PATCHWORK_TOKENS_FILE: 'without tokens the gateway is open to anyone',
    PATCHWORK_DRAIN_MS: 'the grace period is sized from it',
    PATCHWORK_JETSTREAM_REPLICAS: 'streams and buckets need the replicas of the NATS cluster',
    PATCHWORK_NATS_USER: 'NATS runs with auth on',
    PATCHWORK_NATS_PASSWORD: 'NATS runs with auth on',
    NODE_ENV: 'production hides stack traces and GraphiQL',
  },
  kernel: {
    PATCHWORK_NATS_URL: 'the default is 127.0.0.1',
    PATCHWORK_NAMESPACE: 'gateway and kernel nodes must agree on it',
    PATCHWORK_KERNEL_PORT: 'the container port and gRPC probes target it',
    PATCHWORK_KERNEL_METRICS_PORT: 'the HTTP probes target it',
    PATCHWORK_KERNEL_ADVERTISE: 'clients dial the pod IP, not the host name',
    PATCHWORK_KERNEL_NODE_ID: 'the pod name identifies the node',
    PATCHWORK_KERNEL_WORKERS: 'Node sees the machine\'s cores, not the CPU limit',
    PATCHWORK_KERNEL_DRAIN_TIMEOUT_MS: 'the grace period is sized from it',
    PATCHWORK_JETSTREAM_REPLICAS: 'buckets need the replicas of the NATS cluster',
    PATCHWORK_NATS_USER: 'NATS runs with auth on',
    PATCHWORK_NATS_PASSWORD: 'NATS runs with auth on',
  },
};

/** Settings of kind "file": their values must be paths into a mounted volume. */
export const FILE_SETTINGS = new Set<string>([
  'PATCHWORK_TOKENS_FILE',
  ...NODE_SETTINGS.filter((s) => s.kind === 'file').map((s) => s.env),
  ...CLIENT_SETTINGS.filter((s) => s.kind === 'file').map((s) => s.env),
]);

/** The role a container plays: the command `patchwork <role>` (first argument). */
export function containerRole(c: Container): Role | undefined {
  const cmd = c.args?.[0];
  return cmd === 'gateway' || cmd === 'kernel' ? cmd : undefined;
}

function runCli(args: string[]): string {
  const res = spawnSync(join(repoRoot, 'bin/patchwork'), args, { encoding: 'utf8', cwd: repoRoot, timeout: 60_000 });
  if (res.status !== 0) throw new Error(`bin/patchwork ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
  return res.stdout;
}

let commandCache: Set<string> | undefined;
/** The subcommands `patchwork --help` lists. */
export function cliCommands(): Set<string> {
  if (commandCache) return commandCache;
  const help = runCli(['--help']);
  const section = help.slice(help.indexOf('Commands:'));
  commandCache = new Set([...section.matchAll(/^ {2}([a-z][a-z0-9-]*)/gm)].map((m) => m[1]).filter((c) => c !== 'help'));
  return commandCache;
}

const flagCache = new Map<string, Set<string>>();
/** The long flags `patchwork <command> --help` lists. */
export function cliFlags(command: string): Set<string> {
  let flags = flagCache.get(command);
  if (!flags) {
    flags = new Set([...runCli([command, '--help']).matchAll(/(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]));
    flagCache.set(command, flags);
  }
  return flags;
}

export interface Dockerfile {
  text: string;
  /** Instructions of the last stage (the image that runs). */
  final: { instruction: string; args: string }[];
  stages: { from: string; name?: string; instructions: { instruction: string; args: string }[] }[];
  workdir?: string;
  user?: string;
  entrypoint?: string[];
  exposed: number[];
}

export function parseDockerfile(text: string): Dockerfile {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const lines = joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Dockerfile['stages'] = [];
  for (const line of lines) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const instruction = m[1].toUpperCase();
    const rest = m[2].replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? '');
    if (instruction === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k.trim(), (v ?? '').trim());
    } else if (instruction === 'FROM') {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest)!;
      stages.push({ from: fm[1], name: fm[2], instructions: [] });
    } else if (stages.length > 0) stages.at(-1)!.instructions.push({ instruction, args: rest });
  }
  const final = stages.at(-1)?.instructions ?? [];
  const last = (i: string) => final.filter((x) => x.instruction === i).at(-1)?.args;
  const entry = last('ENTRYPOINT');
  return {
    text,
    final,
    stages,
    workdir: last('WORKDIR'),
    user: last('USER'),
    entrypoint: entry?.startsWith('[') ? (JSON.parse(entry) as string[]) : entry?.split(/\s+/),
    exposed: final.filter((x) => x.instruction === 'EXPOSE').flatMap((x) => x.args.split(/\s+/).map((p) => Number(p.split('/')[0]))),
  };
}

export function readDockerfile(): Dockerfile {
  return parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
