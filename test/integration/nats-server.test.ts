import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer } from '../support/nats-server.ts';

test('the test nats-server starts with JetStream on a free port and restarts on the same store', async () => {
  const server = await startNatsServer();
  try {
    let nc = await connect({ servers: server.url });
    let jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'T', subjects: ['t.>'] });
    await nc.close();
    await server.restart();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('T');
    assert.equal(info.config.name, 'T');
    await nc.close();
  } finally {
    await server.dispose();
  }
});
