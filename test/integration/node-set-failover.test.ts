// The live node set and whole-bucket reads keep working when the server that holds their
// consumer dies. In the fault suite, after SIGKILL of one NATS server of three, jobs stalled
// 60-87 s in 12 runs of 20: the gateways' node-bucket watch (a consumer) sat on the dead server
// and nats-server 2.9 kept placing its replacement there, so no kernel node looked alive. The
// node set now reads the bucket without a consumer while its watch is quiet, and whole-bucket
// reads (the orphan scan) fall back to key-by-key message gets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import { readAllEntries, readAllEntriesByGets } from '../../src/common/kv.ts';
import { patchworkNames } from '../../src/common/names.ts';
import { NodeSet } from '../../src/kernel/client/node-set.ts';
import { encodeNodeRecord, openNodeBucket } from '../../src/kernel/cluster/registry.ts';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster.ts';

let cluster: NatsCluster;
let nc: NatsConnection;
let writer: NatsConnection;

before(async () => {
  cluster = await startNatsCluster();
  nc = await connectNats({ servers: cluster.urls.split(',') });
  writer = await connectNats({ servers: cluster.urls.split(',') });
});
after(async () => {
  await nc?.close().catch(() => undefined);
  await writer?.close().catch(() => undefined);
  await cluster?.dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('whole-bucket reads without a consumer see what a watch sees, deleted keys left out', { timeout: 60_000 }, async () => {
  const kv = await new Kvm(nc).create(`nsf_all_${process.pid}`, { history: 1, replicas: 3 });
  for (let i = 0; i < 40; i++) await kv.put(`k${i}`, new TextEncoder().encode(String(i)));
  await kv.put('k3', new TextEncoder().encode('three'));
  await kv.delete('k5');
  await kv.purge('k6');
  const byGets = (await readAllEntriesByGets(kv)).map((e) => [e.key, new TextDecoder().decode(e.value)]).sort();
  const byDefault = (await readAllEntries(kv)).map((e) => [e.key, new TextDecoder().decode(e.value)]).sort();
  assert.equal(byGets.length, 38);
  assert.deepEqual(byGets, byDefault);
  assert.deepEqual(byGets.find(([k]) => k === 'k3'), ['k3', 'three']);
  assert.equal(byGets.some(([k]) => k === 'k5' || k === 'k6'), false);
});

test('the node set keeps a heart-beating node live after the server holding its watch is killed', { timeout: 120_000 }, async () => {
  const names = patchworkNames(`nsf${process.pid}`);
  const kv = await openNodeBucket(nc, names, 3);
  const writerKv = await openNodeBucket(writer, names, 3);
  const heartbeatMs = 300;
  let beating = true;
  let beats = 0;
  let lastBeatAt = 0;
  const beat = (async () => {
    while (beating) {
      const record = { id: 'node-a', address: '127.0.0.1:1', capacity: 2, workers: 1, inFlight: 0, version: 'test', tls: false, heartbeatMs, startedAt: new Date().toISOString() };
      // A put may fail while the bucket's stream elects a leader; the next beat tries again.
      await writerKv.put('node-a', encodeNodeRecord(record)).then(
        () => {
          beats++;
          lastBeatAt = Date.now();
        },
        () => undefined,
      );
      await sleep(heartbeatMs);
    }
  })();
  const set = await NodeSet.watch(kv, { checkMs: 100 });
  try {
    await set.waitFor((n) => n.some((x) => x.id === 'node-a'), 10_000);
    // The watch's consumer, and the server it lives on.
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    const stream = `KV_${names.nodeBucket}`;
    const consumers = await jsm.consumers.list(stream).next();
    const watcher = consumers.length === 1 ? consumers[0] : undefined;
    assert.ok(watcher?.cluster?.leader, `the node set watches the bucket through one consumer (${consumers.map((c) => c.name).join(', ')})`);
    const victim = cluster.nodes.find((n) => n.name === watcher.cluster!.leader)!;
    await victim.kill();
    const killedAt = Date.now();
    const beatsAtKill = beats;

    // Follow the set for 20 s. Heartbeats stop while the bucket's stream elects a new leader (if
    // its leader died), so the node may drop out then; from the first heartbeat stored after the
    // kill, it must stay in the list.
    while (lastBeatAt <= killedAt) {
      assert.ok(Date.now() - killedAt < 20_000, 'no heartbeat stored within 20 s of the kill');
      await sleep(50);
    }
    let lastSeen = Date.now();
    let longestGap = 0;
    while (Date.now() - killedAt < 20_000) {
      const now = Date.now();
      if (set.list().some((x) => x.id === 'node-a')) {
        longestGap = Math.max(longestGap, now - lastSeen);
        lastSeen = now;
      }
      await sleep(100);
    }
    longestGap = Math.max(longestGap, Date.now() - lastSeen);
    assert.ok(beats - beatsAtKill > 10, `the writer kept beating after the kill (${beats - beatsAtKill} beats)`);
    assert.ok(longestGap < 5_000, `node-a was missing from the live set for ${longestGap} ms after its watch's server died`);

    // The orphan scan's whole-bucket read: each one answers in time, by watch or without one.
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const entries = await readAllEntries(kv);
      assert.deepEqual(entries.map((e) => e.key), ['node-a']);
      assert.ok(Date.now() - t0 < 6_000, `a whole-bucket read took ${Date.now() - t0} ms with one server dead`);
    }
  } finally {
    beating = false;
    await beat;
    await set.close();
  }
});
