// Runs the NATS configuration from a rendered ConfigMap on a real nats-server, with the
// container's environment, on free ports and a temp store: the same file the pods load, with
// only the paths and ports this machine needs changed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerBinary } from '../../support/nats-server.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface LiveNats {
  url: string;
  monitorPort: number;
  pidFile: string;
  dir: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** The ConfigMap's files written to a temp dir, the store and pid file moved into it. */
export function writeConf(files: Record<string, string>, dir: string, ports?: { client: number; monitor: number }): { main: string; pidFile: string } {
  const pidFile = join(dir, 'nats.pid');
  for (const [name, text] of Object.entries(files)) {
    let t = text.replace(/store_dir:\s*"?[^"\n]+"?/, `store_dir: "${join(dir, 'data')}"`).replace(/pid_file:\s*"?[^"\n]+"?/, `pid_file: "${pidFile}"`);
    if (ports && name === 'nats.conf') t = t.replace(/^port:\s*\d+/m, `port: ${ports.client}`).replace(/^http_port:\s*\d+/m, `http_port: ${ports.monitor}`);
    writeFileSync(join(dir, name), t);
  }
  return { main: join(dir, 'nats.conf'), pidFile };
}

/** `nats-server -c CONF -t`: the server's own verdict on the config ('' when valid). */
export function testConf(files: Record<string, string>, env: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-natsconf-'));
  try {
    const { main } = writeConf(files, dir);
    const res = spawnSync(natsServerBinary(), ['-c', main, '-t'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    return res.status === 0 ? '' : `${res.stdout}${res.stderr}`.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startLiveNats(files: Record<string, string>, env: Record<string, string>): Promise<LiveNats> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-natslive-'));
  const ports = { client: await freePort(), monitor: await freePort() };
  const { main, pidFile } = writeConf(files, dir, ports);
  const child = spawn(natsServerBinary(), ['-c', main, '-a', '127.0.0.1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server not ready in 10 s:\n${log}`)), 10_000);
    const onData = (b: Buffer) => {
      log += b.toString();
      if (/Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}):\n${log}`));
    });
  });
  return {
    url: `nats://127.0.0.1:${ports.client}`,
    monitorPort: ports.monitor,
    pidFile,
    dir,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
