// NATS credentials from PATCHWORK_NATS_USER / PATCHWORK_NATS_PASSWORD (the Kubernetes Secret's
// way in) against a real nats-server with auth on, for a connection and for a real kernel node;
// and PATCHWORK_JETSTREAM_REPLICAS reaching the buckets a kernel node creates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCodedError } from '../../src/common/errors.ts';
import { natsAuthFromEnv } from '../../src/common/nats-auth.ts';
import { connectNats } from '../../src/common/nats.ts';
import { loadGatewayConfig } from '../../src/gateway/config.ts';
import { nodeConfig } from '../../src/kernel/cluster/config.ts';
import { uniqueNamespace } from '../support/actors.ts';
import { spawnKernelNode } from '../support/kernel-node.ts';
import { startNatsServer } from '../support/nats-server.ts';

const USER = 'patchwork';
const PASSWORD = 'pw-test-secret-0123';

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  set(vars);
  return fn().finally(() => set(saved));
}

test('credentials come in pairs', () => {
  assert.deepEqual(natsAuthFromEnv({}), {});
  assert.deepEqual(natsAuthFromEnv({ PATCHWORK_NATS_USER: 'u', PATCHWORK_NATS_PASSWORD: 'p' }), { user: 'u', pass: 'p' });
  assert.throws(() => natsAuthFromEnv({ PATCHWORK_NATS_USER: 'u' }), (e) => isCodedError(e) && e.code === 'BAD_CONFIG' && /only the user/.test(e.message));
  assert.throws(() => natsAuthFromEnv({ PATCHWORK_NATS_PASSWORD: 'p' }), (e) => isCodedError(e) && e.code === 'BAD_CONFIG' && /only the password/.test(e.message));
});

test('PATCHWORK_JETSTREAM_REPLICAS is a setting of both roles, 1 by default, 1 to 5', () => {
  assert.equal(nodeConfig({}, {}).jetstreamReplicas, 1);
  assert.equal(nodeConfig({}, { PATCHWORK_JETSTREAM_REPLICAS: '3' }).jetstreamReplicas, 3);
  assert.throws(() => nodeConfig({}, { PATCHWORK_JETSTREAM_REPLICAS: '0' }), /PATCHWORK_JETSTREAM_REPLICAS/);
  assert.equal(loadGatewayConfig({}).jetstreamReplicas, 1);
  assert.equal(loadGatewayConfig({ PATCHWORK_JETSTREAM_REPLICAS: '3' }).jetstreamReplicas, 3);
  assert.throws(() => loadGatewayConfig({ PATCHWORK_JETSTREAM_REPLICAS: '7' }), /PATCHWORK_JETSTREAM_REPLICAS/);
});

test('a connection logs in with the credentials in the environment, and says what to set when it cannot', { timeout: 60_000 }, async () => {
  const nats = await startNatsServer({ args: ['--user', USER, '--pass', PASSWORD] });
  try {
    await withEnv({ PATCHWORK_NATS_USER: USER, PATCHWORK_NATS_PASSWORD: PASSWORD }, async () => {
      const nc = await connectNats({ servers: nats.url });
      await nc.flush();
      await nc.close();
    });
    await withEnv({ PATCHWORK_NATS_USER: undefined, PATCHWORK_NATS_PASSWORD: undefined }, async () => {
      await assert.rejects(connectNats({ servers: nats.url, timeoutMs: 3000 }), (e) => isCodedError(e) && e.code === 'NATS_UNAVAILABLE' && /Authorization Violation.*PATCHWORK_NATS_USER/s.test(e.message));
    });
    await withEnv({ PATCHWORK_NATS_USER: USER, PATCHWORK_NATS_PASSWORD: 'wrong-password' }, async () => {
      await assert.rejects(connectNats({ servers: nats.url, timeoutMs: 3000 }), /Authorization Violation/);
      // explicit options win over the environment
      const nc = await connectNats({ servers: nats.url, extra: { user: USER, pass: PASSWORD } });
      await nc.close();
    });
  } finally {
    await nats.dispose();
  }
});

test('a kernel node connects with credentials from its environment and creates its buckets with PATCHWORK_JETSTREAM_REPLICAS', { timeout: 120_000 }, async () => {
  const nats = await startNatsServer({ args: ['--user', USER, '--pass', PASSWORD] });
  try {
    const namespace = uniqueNamespace('cred');
    const node = await spawnKernelNode({ natsUrl: nats.url, namespace, id: 'cred-1', env: { PATCHWORK_NATS_USER: USER, PATCHWORK_NATS_PASSWORD: PASSWORD, PATCHWORK_JETSTREAM_REPLICAS: '1' } });
    try {
      assert.ok(node.log.some((l) => l.includes('"kernel node ready"')));
    } finally {
      await node.kill('SIGTERM');
    }
    // Without credentials it does not start, and says why.
    await assert.rejects(spawnKernelNode({ natsUrl: nats.url, namespace, id: 'cred-2', env: { PATCHWORK_NATS_USER: '', PATCHWORK_NATS_PASSWORD: '' } }), /Authorization Violation/);
    // Three replicas on a server that is not a cluster: the server refuses the new buckets,
    // which shows the setting reaches them.
    await assert.rejects(
      spawnKernelNode({ natsUrl: nats.url, namespace: uniqueNamespace('rep'), id: 'rep-1', env: { PATCHWORK_NATS_USER: USER, PATCHWORK_NATS_PASSWORD: PASSWORD, PATCHWORK_JETSTREAM_REPLICAS: '3' } }),
      /replicas > 1/i,
    );
  } finally {
    await nats.dispose();
  }
});
