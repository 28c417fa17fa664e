// `patchwork up` as a user runs it: the whole cluster comes up on free ports, a killed child is
// restarted, Ctrl-C (SIGINT) stops every process it started, and what blocks a start (a busy
// port, a busy data folder, no nats-server) is one clear message with the right exit code.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { isAlive, runPatchwork, startUp, waitUntil } from '../support/up-cluster.ts';

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).ok;
  } catch {
    return false;
  }
}

test('up: supervises its children and stops them all on Ctrl-C', async () => {
  const up = await startUp(['--kernels', '2']);
  const seen = new Set<number>();
  try {
    const first = up.children();
    assert.deepEqual(Object.keys(first).sort(), ['gateway-1', 'kernel-1', 'kernel-2', 'nats']);
    for (const pid of Object.values(first)) {
      assert.ok(isAlive(pid));
      seen.add(pid);
    }
    assert.ok(await ready(up.url), '/readyz answers 200');
    const page = await fetch(`${up.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Patchwork/);
    const nodes = (await (await fetch(`${up.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ kernelNodes { id workers } }' }) })).json()) as { data: { kernelNodes: Array<{ id: string; workers: number }> } };
    assert.deepEqual(nodes.data.kernelNodes.map((n) => n.id).sort(), ['up-kernel-1', 'up-kernel-2']);

    // A second `up` on the same data folder is refused while this one runs.
    const busy = await runPatchwork(['up', '--data', up.dataDir, '--port', '0']);
    assert.equal(busy.code, 2, busy.stderr);
    assert.match(busy.stderr, /another `patchwork up` \(pid \d+\) is using/);

    // A killed kernel node comes back (new pid, registered again).
    process.kill(first['kernel-1'], 'SIGKILL');
    await waitUntil('kernel-1 restarted', () => up.children()['kernel-1'] !== first['kernel-1'] && isAlive(up.children()['kernel-1']), 60_000);
    seen.add(up.children()['kernel-1']);
    assert.match(up.output(), /kernel-1 exited \(signal SIGKILL\); restarting in 0\.5 s/);

    // A killed gateway comes back on the same port.
    process.kill(first['gateway-1'], 'SIGKILL');
    await waitUntil('gateway-1 restarted', () => up.children()['gateway-1'] !== first['gateway-1'], 60_000);
    seen.add(up.children()['gateway-1']);
    await waitUntil('the gateway ready again on the same URL', () => ready(up.url), 60_000, 250);

    const code = await up.stop('SIGINT');
    assert.equal(code, 0, up.output());
    assert.match(up.output(), /SIGINT: stopping gateways, then kernel nodes, then NATS[\s\S]*\nstopped\n/);
    for (const pid of seen) assert.ok(!isAlive(pid), `pid ${pid} is gone`);
    assert.ok(!existsSync(`${up.dataDir}/up.json`), 'the data folder lock is released');
  } finally {
    await up.dispose();
  }
});

test('up: children stop by themselves when up is killed outright, and the next up clears leftovers', async () => {
  const up = await startUp(['--kernels', '1']);
  try {
    const kids = up.children();
    await up.stop('SIGKILL');
    // Gateway and kernel node notice their parent is gone and drain; nats-server cannot.
    await waitUntil('the node children to stop', () => !isAlive(kids['gateway-1']) && !isAlive(kids['kernel-1']), 60_000, 250);
    assert.ok(isAlive(kids.nats), 'nats-server is left behind');
    const again = await startUp(['--kernels', '1', '--data', up.dataDir]);
    try {
      assert.ok(!isAlive(kids.nats), 'the leftover nats-server was stopped');
      assert.match(again.output(), /stopped processes left over from an earlier run in .*: nats \(pid \d+\)/);
      assert.equal(await again.stop('SIGTERM'), 0);
    } finally {
      await again.dispose();
    }
  } finally {
    for (const pid of Object.values(up.children())) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await up.dispose();
  }
});

test('up: a busy port and a missing nats-server are clear messages', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as AddressInfo).port;
  const data = mkdtempSync(join(tmpdir(), 'pw-up-'));
  try {
    const res = await runPatchwork(['up', '--data', data, '--port', String(port)]);
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.match(res.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
    const missing = await runPatchwork(['up', '--data', data, '--nats-server', '/nonexistent/nats-server']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /needs nats-server/);
    assert.match(missing.stderr, /sudo apt-get install -y nats-server/);
    assert.ok(!existsSync(join(data, 'up.json')), 'a failed start releases the data folder');
  } finally {
    blocker.close();
    rmSync(data, { recursive: true, force: true });
  }
});
