// The supervisor behind `patchwork up`, with real child processes: ready detection, restart with
// backoff after a crash, graceful stop with a hard kill after the timeout, and a first start that
// fails reporting the child's last lines instead of restarting forever.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SupervisedChild, type ChildSpec } from '../../src/cli/up/supervisor.ts';
import { isAlive, repoRoot, waitUntil } from '../support/up-cluster.ts';

const loader = `file://${repoRoot}/node_modules/tsx/dist/loader.mjs`;

function spec(dir: string, mode: string, stopTimeoutMs = 5_000): ChildSpec {
  return {
    name: `child-${mode}`,
    command: process.execPath,
    args: ['--import', loader, join(repoRoot, 'test/fixtures/supervised-child.ts')],
    env: { ...process.env, CHILD_MODE: mode },
    logFile: join(dir, `${mode}.log`),
    isReady: (line) => line.startsWith('ready '),
    stopTimeoutMs,
  };
}

test('a crashed child is restarted (with backoff) and a stopped one is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-sup-'));
  const said: string[] = [];
  const ready: number[] = [];
  const child = new SupervisedChild(spec(dir, 'normal'), { say: (l) => void said.push(l), ready: (_n, pid) => void ready.push(pid) });
  try {
    await child.start(30_000);
    const first = child.pid!;
    assert.ok(isAlive(first));
    assert.deepEqual(ready, [first]);

    process.kill(first, 'SIGKILL');
    await waitUntil('a restarted child', () => ready.length === 2, 30_000);
    const second = child.pid!;
    assert.notEqual(second, first);
    assert.ok(isAlive(second));
    assert.ok(!isAlive(first));
    assert.equal(child.restarts, 1);
    assert.match(said[0], /child-normal exited \(signal SIGKILL\); restarting in 0\.5 s/);

    // A second crash soon after waits longer.
    process.kill(second, 'SIGKILL');
    await waitUntil('another restart', () => ready.length === 3, 30_000);
    assert.match(said[1], /restarting in 1\.0 s/);

    const third = child.pid!;
    await child.stop();
    assert.ok(!isAlive(third), 'stopped');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(child.pid, undefined, 'not restarted after stop');
    assert.equal(ready.length, 3);
    const log = readFileSync(join(dir, 'normal.log'), 'utf8');
    assert.match(log, /draining/, 'SIGTERM reached the child: it drained');
    assert.equal(log.match(/--- .* starting /g)?.length, 3, 'the log has every start');
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a child that ignores SIGTERM is killed after its stop timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-sup-'));
  const said: string[] = [];
  const child = new SupervisedChild(spec(dir, 'ignore-term', 1_000), { say: (l) => void said.push(l) });
  try {
    await child.start(30_000);
    const pid = child.pid!;
    const t0 = Date.now();
    await child.stop();
    assert.ok(!isAlive(pid));
    assert.ok(Date.now() - t0 >= 900, 'waited for the graceful stop first');
    assert.match(said.join('\n'), /did not stop within 1 s; killing it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a child that fails its first start is reported with its last lines, not restarted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-sup-'));
  const said: string[] = [];
  const child = new SupervisedChild(spec(dir, 'fail-at-start'), { say: (l) => void said.push(l) });
  try {
    await assert.rejects(child.start(30_000), /child-fail-at-start exited \(code 3\) while starting[\s\S]*boom: cannot open the thing/);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(child.restarts, 0);
    assert.deepEqual(said, []);
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
