// Child processes running TypeScript fixtures through tsx's loader, for tests that kill them.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const loader = `file://${root}/node_modules/tsx/dist/loader.mjs`;

export interface FixtureProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once the process printed `line`. */
  waitFor(line: string, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startFixture(relativePath: string, env: Record<string, string>): FixtureProcess {
  const child = spawn(process.execPath, ['--import', loader, resolve(root, relativePath)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    waitFor(line, timeoutMs = 20_000) {
      return new Promise((resolveWait, reject) => {
        const timer = setTimeout(() => reject(new Error(`${relativePath} did not print '${line}' within ${timeoutMs} ms:\n${out}`)), timeoutMs);
        const check = () => {
          if (out.split('\n').includes(line)) {
            clearTimeout(timer);
            resolveWait();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`${relativePath} exited (${child.exitCode ?? child.signalCode}) before printing '${line}':\n${out}`));
          } else waiters.push(check);
        };
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
