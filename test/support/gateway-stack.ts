// A whole Patchwork stack for end-to-end tests and bench:subscriptions: a real nats-server, real
// kernel node processes (`patchwork kernel`) and real gateway processes (`patchwork gateway`,
// each hosting job actors), all under one unique namespace. `close()` stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNatsServer, type NatsServer } from './nats-server.ts';
import { spawnKernelNode, type KernelNodeProcess } from './kernel-node.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const loader = `file://${root}/node_modules/tsx/dist/loader.mjs`;
const main = resolve(root, 'src/cli/main.ts');

export interface GatewayProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly log: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StackOptions {
  gateways?: number;
  kernels?: number;
  kernelWorkers?: number;
  /** PATCHWORK_TOKENS for the gateways. */
  tokens?: string;
  env?: Record<string, string>;
  /** Flags for node itself in gateway processes (before the loader), e.g. --cpu-prof. */
  gatewayNodeFlags?: string[];
}

export interface Stack {
  nats: NatsServer;
  namespace: string;
  gateways: GatewayProcess[];
  kernels: KernelNodeProcess[];
  spawnGateway(env?: Record<string, string>): Promise<GatewayProcess>;
  close(): Promise<void>;
}

export function spawnGateway(natsUrl: string, namespace: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<GatewayProcess> {
  const args = [...nodeFlags, '--import', loader, main, 'gateway', '--port', '0', '--host', '127.0.0.1', '--nats', natsUrl, '--namespace', namespace];
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATCHWORK_LOG_LEVEL: process.env.PATCHWORK_LOG_LEVEL ?? 'warn', PATCHWORK_WEB_DIR: '/nonexistent', ...env },
  });
  const log: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolveReady, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway not listening in 30 s:\n${log.join('\n')}`));
    }, 30_000);
    const feed = (buf: Buffer): void => {
      buffered += buf.toString();
      let i;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        log.push(line);
        const m = /^patchwork gateway listening on (\S+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolveReady({
            url: m[1],
            child,
            log,
            exited,
            async kill(signal: NodeJS.Signals = 'SIGKILL') {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              return exited;
            },
          });
        }
      }
    };
    child.stdout!.on('data', feed);
    child.stderr!.on('data', feed);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before listening:\n${log.join('\n')}`));
    });
  });
}

/** Waits until the gateway's /readyz says ready (NATS connected, kernel nodes seen). */
export async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/readyz`);
      last = await r.text();
      if (r.status === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready in ${timeoutMs} ms: ${last}`);
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const namespace = `g${randomBytes(4).toString('hex')}`;
  const nats = await startNatsServer();
  const gateways: GatewayProcess[] = [];
  const kernels: KernelNodeProcess[] = [];
  const env = { ...(opts.tokens ? { PATCHWORK_TOKENS: opts.tokens } : {}), ...opts.env };
  const stack: Stack = {
    nats,
    namespace,
    gateways,
    kernels,
    async spawnGateway(extra = {}) {
      const g = await spawnGateway(nats.url, namespace, { ...env, ...extra }, opts.gatewayNodeFlags);
      gateways.push(g);
      await waitReady(g.url);
      return g;
    },
    async close() {
      await Promise.all(gateways.map((g) => g.kill('SIGKILL')));
      await Promise.all(kernels.map((k) => k.kill('SIGKILL')));
      await nats.dispose();
    },
  };
  try {
    for (let i = 0; i < (opts.kernels ?? 1); i++) {
      kernels.push(await spawnKernelNode({ natsUrl: nats.url, namespace, id: `k${i}`, workers: opts.kernelWorkers ?? 1 }));
    }
    for (let i = 0; i < (opts.gateways ?? 1); i++) await stack.spawnGateway();
    return stack;
  } catch (err) {
    await stack.close();
    throw err;
  }
}
