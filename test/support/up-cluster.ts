// A whole local cluster for end-to-end tests: `bin/patchwork up` run as a user would, in a temp
// data folder, on free ports. Reads the gateway URL from what `up` prints and the children's pids
// from its lock file (<data>/up.json), and makes sure nothing outlives the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
export const patchworkBin = join(repoRoot, 'bin/patchwork');

export interface UpCluster {
  /** Gateway base URL, e.g. http://127.0.0.1:43210 */
  url: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything `up` printed (stdout and stderr). */
  output(): string;
  /** Children by name → pid, as recorded in <data>/up.json. */
  children(): Record<string, number>;
  /** Resolves when `up` printed a line containing `text`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` to `up` and resolves to its exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Stops `up` (SIGINT), SIGKILLs anything left, removes the data folder. Safe to call twice. */
  dispose(): Promise<void>;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startUp(args: string[] = [], env: Record<string, string> = {}): Promise<UpCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pw-up-'));
  const child = spawn(patchworkBin, ['up', '--data', dataDir, '--port', '0', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (b: Buffer): void => {
    out += b.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let lastChildren: Record<string, number> = {};
  const children = (): Record<string, number> => {
    try {
      const rec = JSON.parse(readFileSync(join(dataDir, 'up.json'), 'utf8')) as { children: Record<string, { pid: number }> };
      lastChildren = Object.fromEntries(Object.entries(rec.children).map(([k, v]) => [k, v.pid]));
    } catch {
      // up.json is gone once `up` stopped cleanly: keep the last pids we saw.
    }
    return lastChildren;
  };
  const waitForOutput = (text: string, timeoutMs = 120_000): Promise<void> =>
    new Promise((resolveWait, reject) => {
      const check = (): void => {
        if (out.includes(text)) {
          done();
          resolveWait();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`patchwork up exited (${child.exitCode ?? child.signalCode}) before printing "${text}":\n${out}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`patchwork up did not print "${text}" within ${timeoutMs} ms:\n${out}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', check);
      };
      listeners.add(check);
      child.on('exit', check);
      check();
    });
  const stop = async (signal: NodeJS.Signals = 'SIGINT', timeoutMs = 90_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  let disposed = false;
  const cluster: UpCluster = {
    url: '',
    dataDir,
    process: child,
    output: () => out,
    children,
    waitForOutput,
    stop,
    async dispose() {
      if (disposed) return;
      disposed = true;
      const pids = Object.values(children());
      await stop('SIGINT');
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitForOutput('Ctrl-C stops everything.');
    const m = /web page\s+(http:\/\/\S+?)\/?\s*$/m.exec(out);
    if (!m) throw new Error(`no web page URL in the output of patchwork up:\n${out}`);
    cluster.url = m[1];
    children();
    return cluster;
  } catch (e) {
    await cluster.dispose();
    throw e;
  }
}

/** Runs the patchwork command to completion. */
export function runPatchwork(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(patchworkBin, args, { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}
