// Starts a real nats-server with JetStream for a test: a free port (the server picks it with
// -p -1 and we read it from its log), a fresh temp store, cleanup on stop. Restartable on the
// same port and store, for tests that stop the server and expect instances to resume.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** Reuse a store directory (for restarts across processes); default a new temp dir. */
  storeDir?: string;
  /** Fixed client port; default a free one chosen by the server. */
  port?: number;
  /** Extra nats-server arguments, e.g. cluster routes. */
  args?: string[];
  /** Server name (needed for clustering). */
  name?: string;
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same port and store after stop() or kill(). */
  restart(): Promise<void>;
  /** Stop and remove the store (unless the caller gave it). */
  dispose(): Promise<void>;
}

export function natsServerBinary(): string {
  return process.env.NATS_SERVER_BIN ?? 'nats-server';
}

function launch(port: number, storeDir: string, opts: NatsServerOptions): Promise<{ child: ChildProcess; port: number }> {
  const args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), ...(opts.name ? ['-n', opts.name] : []), ...(opts.args ?? [])];
  const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not become ready in 10s:\n${log}`));
    }, 10_000);
    const onData = (buf: Buffer) => {
      log += buf.toString();
      const listen = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
      if (listen && /Server is ready/.test(log)) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.stdout?.off('data', onData);
        // keep draining so the pipe never fills
        child.stderr?.resume();
        child.stdout?.resume();
        resolve({ child, port: Number(listen[1]) });
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${natsServerBinary()}: ${err.message}. Install it: apt-get install -y nats-server`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code} before ready:\n${log}`));
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const ownStore = !opts.storeDir;
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'pw-nats-'));
  let { child, port } = await launch(opts.port ?? -1, storeDir, opts);
  const server: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    get pid() {
      return child.pid;
    },
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child);
    },
    async kill() {
      child.kill('SIGKILL');
      await waitExit(child);
    },
    async restart() {
      await server.kill();
      ({ child, port } = await launch(port, storeDir, opts));
    },
    async dispose() {
      child.kill('SIGKILL');
      await waitExit(child);
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
  return server;
}
