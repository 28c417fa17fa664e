// A KV watch being made while its connection closes must not keep the process alive (see
// test/fixtures/watch-on-closing-connection.ts): kernel nodes, job hosts and the CLI make watches
// at any time (the node set reopens its watch, a result wait watches the job's index entry), and
// any of them may be shutting down then. A process left running here hung CI for 90 minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsServer } from '../support/nats-server.ts';
import { startFixture } from '../support/processes.ts';

for (const closeBy of ['close', 'drain']) {
  test(`a watch whose connection ${closeBy === 'close' ? 'closes' : 'drains'} while it is made lets the process exit`, async () => {
    const server = await startNatsServer();
    const p = startFixture('test/fixtures/watch-on-closing-connection.ts', { NATS_URL: server.url, CLOSE_BY: closeBy });
    try {
      await p.waitFor('consume refused: closed connection', 20_000);
      const exited = await new Promise<boolean>((resolve) => {
        if (p.child.exitCode !== null) return resolve(true);
        // Four heartbeat intervals: a monitor left running fires, prints and keeps ticking.
        const timer = setTimeout(() => resolve(false), 2_000);
        p.child.once('exit', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      assert.ok(exited, `the process was still running 2 s after its last work:\n${p.output()}`);
      assert.equal(p.child.exitCode, 0, p.output());
      assert.doesNotMatch(p.output(), /ClosedConnectionError/, 'no heartbeat monitor fired after the close');
    } finally {
      await p.kill();
      await server.dispose();
    }
  });
}
