import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../../src/common/nats.ts';
import { LeaseManager } from '../../src/actors/leases.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { uniqueNamespace } from '../support/actors.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.dispose();
});

test('a lease is held until it lapses, renewed by its owner, claimable after its deadline, released at once', async () => {
  const nc = await connectNats({ servers: server.url });
  try {
    const kv = await new Kvm(nc).create(uniqueNamespace('leases'));
    let now = 1_000_000;
    const clock = () => now;
    const a = new LeaseManager({ kv, hostId: 'A', ttlMs: 1_000, skewMs: 100, clock });
    const b = new LeaseManager({ kv, hostId: 'B', ttlMs: 1_000, skewMs: 100, clock });
    const la = await a.claim('x');
    assert.ok(la);
    assert.equal(await b.claim('x'), undefined, 'held');
    now += 900;
    assert.equal(await a.renew(la), true);
    now += 900;
    assert.equal(await b.claim('x'), undefined, 'renewed, still held');
    now += 1_101;
    const lb = await b.claim('x');
    assert.ok(lb, 'lapsed: claimable');
    assert.equal(await a.renew(la), false, 'the old owner learns it lost the lease');
    await b.release(lb);
    const la2 = await a.claim('x');
    assert.ok(la2, 'released: claimable at once');
    assert.equal((await a.read('x'))?.value.owner, 'A');
  } finally {
    await nc.close();
  }
});

test('two hosts racing for a free lease: exactly one wins', async () => {
  const nc = await connectNats({ servers: server.url });
  try {
    const kv = await new Kvm(nc).create(uniqueNamespace('leases'));
    const hosts = Array.from({ length: 8 }, (_, i) => new LeaseManager({ kv, hostId: `h${i}`, ttlMs: 5_000 }));
    for (let round = 0; round < 10; round++) {
      const wins = (await Promise.all(hosts.map((h) => h.claim(`k${round}`)))).filter(Boolean);
      assert.equal(wins.length, 1);
    }
  } finally {
    await nc.close();
  }
});

test('seize takes a held lease; the holder cannot renew', async () => {
  const nc = await connectNats({ servers: server.url });
  try {
    const kv = await new Kvm(nc).create(uniqueNamespace('leases'));
    const a = new LeaseManager({ kv, hostId: 'A', ttlMs: 60_000 });
    const b = new LeaseManager({ kv, hostId: 'B', ttlMs: 60_000 });
    const la = (await a.claim('x'))!;
    await b.seize('x');
    assert.equal(await a.renew(la), false);
    assert.equal((await a.read('x'))?.value.owner, 'B');
  } finally {
    await nc.close();
  }
});
