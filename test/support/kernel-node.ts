// Spawns a real kernel node process (`patchwork kernel` through tsx's loader) for a test and
// waits until it logs that it is ready; kills it (and waits) on request.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const loader = `file://${root}/node_modules/tsx/dist/loader.mjs`;
const main = resolve(root, 'src/cli/main.ts');

export interface KernelNodeOptions {
  natsUrl: string;
  namespace: string;
  id: string;
  workers?: number;
  maxCalls?: number;
  heartbeatMs?: number;
  /** More flags, e.g. TLS files. */
  args?: string[];
  env?: Record<string, string>;
  /** Flags for node itself (before the loader), e.g. --cpu-prof. */
  nodeFlags?: string[];
}

export interface KernelNodeProcess {
  readonly id: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly child: ChildProcess;
  /** Everything the node logged so far (pino JSON lines and anything else). */
  readonly log: string[];
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The node's /metrics text. */
  metrics(): Promise<string>;
}

export function kernelNodeArgs(o: KernelNodeOptions): string[] {
  return [
    ...(o.nodeFlags ?? []),
    '--import',
    loader,
    main,
    'kernel',
    '--nats',
    o.natsUrl,
    '--namespace',
    o.namespace,
    '--node-id',
    o.id,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--metrics-port',
    '0',
    '--workers',
    String(o.workers ?? 1),
    '--heartbeat-ms',
    String(o.heartbeatMs ?? 500),
    ...(o.maxCalls ? ['--max-calls', String(o.maxCalls)] : []),
    ...(o.args ?? []),
  ];
}

export function spawnKernelNode(o: KernelNodeOptions): Promise<KernelNodeProcess> {
  const child = spawn(process.execPath, kernelNodeArgs(o), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATCHWORK_LOG_LEVEL: 'info', ...o.env } });
  const log: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolveReady, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kernel node ${o.id} not ready in 30 s:\n${log.join('\n')}`));
    }, 30_000);
    const onLine = (line: string): void => {
      log.push(line);
      if (!line.includes('"kernel node ready"')) return;
      clearTimeout(timer);
      const rec = JSON.parse(line) as { port: number; metricsPort: number };
      const node: KernelNodeProcess = {
        id: o.id,
        port: rec.port,
        metricsPort: rec.metricsPort,
        child,
        log,
        exited,
        async kill(signal: NodeJS.Signals = 'SIGKILL') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
        async metrics() {
          const res = await fetch(`http://127.0.0.1:${rec.metricsPort}/metrics`);
          return res.text();
        },
      };
      resolveReady(node);
    };
    const feed = (buf: Buffer): void => {
      buffered += buf.toString();
      let i;
      while ((i = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
      }
    };
    child.stdout!.on('data', feed);
    child.stderr!.on('data', feed);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`kernel node ${o.id} exited (${code ?? signal}) before ready:\n${log.join('\n')}`));
    });
  });
}

/** A metric's value from Prometheus text: the first sample of `name` carrying every given label; 0 if absent with labels. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => (l.startsWith(name + ' ') || l.startsWith(name + '{')) && want.every((w) => l.includes(w)));
  if (!line) {
    if (want.length > 0) return 0;
    throw new Error(`metric ${name} not found`);
  }
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}
