// Reads what the checks need from the NATS server configuration in the rendered ConfigMap: a few
// top-level values, the variables it takes from the environment, and the cluster routes. Only a
// reader for this file's shape (the real parser is nats-server itself: the live test runs it).
import { bytes } from './workloads.ts';

export interface NatsConf {
  port?: number;
  httpPort?: number;
  serverName?: string;
  pidFile?: string;
  storeDir?: string;
  maxFileStore?: number;
  lameDuckSeconds?: number;
  lameDuckGraceSeconds?: number;
  /** `$NAME` references, resolved by nats-server from the environment. */
  variables: Set<string>;
  includes: string[];
  cluster?: { port?: number; routes: string[] };
}

function stripComments(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').replace(/(^|\s)\/\/.*$/, ''))
    .join('\n');
}

function value(text: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|[\\s{])${key}\\s*[:=]?\\s*("([^"]*)"|[^\\s,}]+)`, 'm').exec(text);
  return m ? (m[2] ?? m[1]) : undefined;
}

function seconds(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

/** The block `name { ... }` (braces balanced), or undefined. */
function block(text: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${name}\\s*[:=]?\\s*\\{`, 'm').exec(text);
  if (!m) return undefined;
  let depth = 0;
  for (let i = m.index + m[0].length - 1; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(m.index + m[0].length, i);
  }
  return undefined;
}

/** `files` maps file name → text (the ConfigMap's data); `main` is the file the server loads. */
export function readNatsConf(files: Record<string, string>, main: string): NatsConf {
  const seen = new Set<string>();
  const expand = (name: string): string => {
    if (seen.has(name)) return '';
    seen.add(name);
    const text = stripComments(files[name] ?? '');
    return text.replace(/^\s*include\s+"?([^"\s]+)"?\s*$/gm, (_, inc: string) => expand(inc));
  };
  const raw = stripComments(files[main] ?? '');
  const includes = [...raw.matchAll(/^\s*include\s+"?([^"\s]+)"?\s*$/gm)].map((m) => m[1]);
  const text = expand(main);
  const js = block(text, 'jetstream') ?? '';
  const clusterText = block(text, 'cluster');
  const top = text.replace(/(jetstream|cluster|authorization|accounts)\s*[:=]?\s*\{[\s\S]*?\n\}/g, '');
  const conf: NatsConf = {
    port: Number(value(top, 'port')) || undefined,
    httpPort: Number(value(text, 'http_port') ?? value(text, 'http')) || undefined,
    serverName: value(text, 'server_name'),
    pidFile: value(text, 'pid_file'),
    storeDir: value(js, 'store_dir'),
    maxFileStore: bytes(value(js, 'max_file_store')),
    lameDuckSeconds: seconds(value(text, 'lame_duck_duration')),
    lameDuckGraceSeconds: seconds(value(text, 'lame_duck_grace_period')),
    variables: new Set([...text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1])),
    includes,
  };
  if (clusterText !== undefined) {
    const routesBlock = /routes\s*[:=]?\s*\[([\s\S]*?)\]/.exec(clusterText)?.[1] ?? '';
    conf.cluster = { port: Number(value(clusterText, 'port')) || undefined, routes: routesBlock.split(/[\s,]+/).filter((r) => r.length > 0) };
  }
  return conf;
}
