// A lease renewal whose answer was lost (a timeout while a NATS server fails over) may still have
// been stored. The next renewal must adopt the host's own newer revision instead of concluding
// that another host claimed the instance: that made a live host drop its job, and with the
// orphan scan failing during the outage the job had no host for a minute (fault suite, SIGKILL
// of one NATS server). A real claim by another host still ends the lease.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm } from '@nats-io/kv';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import { LeaseManager } from '../../src/actors/leases.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { uniqueNamespace } from '../support/actors.ts';

let server: NatsServer;
let nc: NatsConnection;
before(async () => {
  server = await startNatsServer();
  nc = await connectNats({ servers: server.url });
});
after(async () => {
  await nc?.close();
  await server?.dispose();
});

test('a renewal stored without its answer reaching the host: the next renewal keeps the lease', async () => {
  const kv = await new Kvm(nc).create(uniqueNamespace('lostack'));
  const a = new LeaseManager({ kv, hostId: 'A', ttlMs: 5_000 });
  const lease = await a.claim('job-1');
  assert.ok(lease);
  // What the lost renewal wrote: A's own lease with a later deadline, one revision on.
  await kv.update('job-1', JSON.stringify({ ...lease.value, deadline: lease.value.deadline + 1_000 }), lease.revision);
  assert.equal(await a.renew(lease), true, 'the host took its own stored renewal for another host\'s claim');
  assert.equal((await a.read('job-1'))?.revision, lease.revision);
  assert.equal(await a.renew(lease), true);
});

test('a claim by another host still ends the lease', async () => {
  const kv = await new Kvm(nc).create(uniqueNamespace('lostack'));
  const a = new LeaseManager({ kv, hostId: 'A', ttlMs: 5_000 });
  const b = new LeaseManager({ kv, hostId: 'B', ttlMs: 5_000 });
  const lease = await a.claim('job-2');
  assert.ok(lease);
  await b.seize('job-2');
  assert.equal(await a.renew(lease), false);
  // and A's own earlier claim (another activation of A) is not adopted either
  const lease3 = await a.claim('job-3');
  assert.ok(lease3);
  await kv.put('job-3', JSON.stringify({ owner: 'A', deadline: Date.now() + 5_000, claimedAt: lease3.value.claimedAt + 1 }));
  assert.equal(await a.renew(lease3), false);
});
