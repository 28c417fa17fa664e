// Placement: which nodes run a job, and which tiles each runs. Nodes are ranked per job by
// rendezvous (highest random weight) hashing, so every client ranks them the same way, a job
// keeps its nodes (and their warm caches: the prepared pyramid, the previous step's results)
// from step to step and level to level, and a node joining or leaving moves only the jobs that
// rank it first. A level's tiles are split into shards balanced by work, shard i going to the
// i-th ranked node; small levels are not split (an exchange would cost more than it saves).
import { createHash } from 'node:crypto';

/** Rendezvous weight of `node` for `key`: the first 8 bytes of SHA-256(key NUL node). */
function weight(key: string, node: string): bigint {
  return createHash('sha256').update(key).update('\0').update(node).digest().readBigUInt64BE(0);
}

/** Nodes from most to least preferred for `key`. */
export function rendezvousRank<T extends { id: string }>(key: string, nodes: readonly T[]): T[] {
  return nodes
    .map((n) => ({ n, w: weight(key, n.id) }))
    .sort((a, b) => (a.w === b.w ? (a.n.id < b.n.id ? -1 : 1) : a.w > b.w ? -1 : 1))
    .map((x) => x.n);
}

export { shardCount, splitTiles } from './shards.ts';
