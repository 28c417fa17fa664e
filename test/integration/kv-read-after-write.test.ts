// On a three-server NATS cluster with buckets at 3 replicas, a value the runtime has just written
// must read back at once: an upload recorded then checked by createJob (it was refused as "not an
// upload of yours" when direct gets let a lagging follower answer), a lease just claimed, an
// instance just indexed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createJobRuntime, type JobRuntime } from '../../src/actors/index.ts';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster.ts';
import { uniqueNamespace } from '../support/actors.ts';

let cluster: NatsCluster;
let nc: NatsConnection;
let rt: JobRuntime;

before(async () => {
  cluster = await startNatsCluster();
  nc = await connectNats({ servers: cluster.urls.split(',') });
  rt = await createJobRuntime({ nc, namespace: uniqueNamespace('raw'), replicas: 3, logger: pino({ level: 'silent' }), host: { claim: false } });
});
after(async () => {
  await rt?.close({ drainMs: 0 }).catch(() => undefined);
  await nc?.close().catch(() => undefined);
  await cluster?.dispose();
});

const N = 200;

test('an upload recorded is found at once (uploads bucket at 3 replicas)', async () => {
  let missing = 0;
  for (let i = 0; i < N; i++) {
    const id = i.toString(16).padStart(64, 'a');
    await rt.jobs.recordUpload('t1', { id, width: 4, height: 4, contentType: 'image/png' });
    if (!(await rt.jobs.getUpload('t1', id))) missing++;
  }
  assert.equal(missing, 0, `${missing} of ${N} uploads read back as missing right after being recorded`);
});

test('a lease claimed reads back as this host\'s at once (leases bucket at 3 replicas)', async () => {
  let wrong = 0;
  for (let i = 0; i < N; i++) {
    const lease = await rt.host.leases.claim(`inst-${i}`);
    assert.ok(lease);
    const read = await rt.host.leases.read(`inst-${i}`);
    if (read?.value.owner !== rt.host.id || read.revision !== lease.revision) wrong++;
  }
  assert.equal(wrong, 0, `${wrong} of ${N} leases read back stale right after the claim`);
});
