// Placement: rendezvous ranking is the same for every client, moves few jobs when a node joins
// or leaves, and shards split tiles deterministically with balanced work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendezvousRank, shardCount, splitTiles } from '../../src/kernel/client/placement.ts';

const nodes = (n: number): { id: string }[] => Array.from({ length: n }, (_, i) => ({ id: `node-${i}` }));

test('rendezvous rank is a permutation, independent of input order, and depends on the key', () => {
  const ns = nodes(5);
  const a = rendezvousRank('job-1', ns).map((n) => n.id);
  const b = rendezvousRank('job-1', [...ns].reverse()).map((n) => n.id);
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort(), ns.map((n) => n.id).sort());
  const firsts = new Set(Array.from({ length: 50 }, (_, i) => rendezvousRank(`job-${i}`, ns)[0].id));
  assert.ok(firsts.size >= 4, `jobs should spread over nodes, got first choices ${[...firsts].join(',')}`);
});

test('removing a node moves only the jobs that ranked it first', () => {
  const ns = nodes(6);
  const gone = 'node-3';
  let moved = 0;
  for (let i = 0; i < 300; i++) {
    const before = rendezvousRank(`job-${i}`, ns)[0].id;
    const after = rendezvousRank(`job-${i}`, ns.filter((n) => n.id !== gone))[0].id;
    if (before !== gone) assert.equal(after, before, `job-${i} moved from ${before} though ${gone} left`);
    else moved++;
  }
  assert.ok(moved > 0 && moved < 150, `about a sixth of the jobs should move, moved ${moved}`);
});

test('shardCount: one shard per minimum work, capped by nodes and tiles', () => {
  assert.equal(shardCount(100, 4, 3, 2500), 1);
  assert.equal(shardCount(6000, 6, 3, 2500), 2);
  assert.equal(shardCount(90_000, 40, 3, 2500), 3);
  assert.equal(shardCount(90_000, 2, 3, 2500), 2);
  assert.equal(shardCount(90_000, 40, 0, 2500), 1);
});

test('splitTiles covers every tile once, balances work and is deterministic', () => {
  const work = [500, 4096, 4096, 120, 3000, 4096, 800, 2200, 4096, 60, 1900, 4096, 3500];
  const shards = splitTiles(work, 3);
  assert.deepEqual(splitTiles(work, 3), shards);
  const all = shards.flat().sort((a, b) => a - b);
  assert.deepEqual(all, work.map((_, i) => i));
  for (const s of shards) assert.deepEqual(s, [...s].sort((a, b) => a - b));
  const loads = shards.map((s) => s.reduce((n, t) => n + work[t], 0));
  const mean = loads.reduce((a, b) => a + b) / loads.length;
  assert.ok(Math.max(...loads) / mean < 1.1, `loads ${loads.join('/')} are unbalanced`);
});
