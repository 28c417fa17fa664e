// `bin/patchwork` runs from any working directory (a container's workingDir, a user's shell):
// worker threads load tsx from the install, not from the directory the command started in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { uniqueNamespace } from '../support/actors.ts';
import { startNatsServer } from '../support/nats-server.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

test('a kernel node started outside the install starts its worker threads', { timeout: 60_000 }, async () => {
  const nats = await startNatsServer();
  const cwd = mkdtempSync(join(tmpdir(), 'pw-cwd-'));
  const child = spawn(join(root, 'bin/patchwork'), ['kernel', '--nats', nats.url, '--namespace', uniqueNamespace('cwd'), '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--workers', '2'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let out = '';
  try {
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`not ready in 30 s:\n${out}`)), 30_000);
      const poll = setInterval(() => {
        if (out.includes('"kernel node ready"')) {
          clearInterval(poll);
          clearTimeout(timer);
          ok();
        }
      }, 50);
    });
    // A worker that cannot load dies and is replaced in a loop, each time printing the error:
    // give the workers time to start (or fail) before looking.
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(out, /ERR_MODULE_NOT_FOUND|Cannot find package/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
  } finally {
    child.kill('SIGKILL');
    await exited;
    await nats.dispose();
    rmSync(cwd, { recursive: true, force: true });
  }
});
