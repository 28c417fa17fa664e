// How a level's tiles are split among nodes and chunks: pure arithmetic (no I/O, no hashing),
// so the inpaint orchestration, which replays deterministically and may import nothing that does
// I/O, computes the same split as the remote driver.
import { lptSplit } from '../cluster/team-shares.ts';

/**
 * How many shards a level is split into: one per `minTargetsPerShard` target patches, at most
 * one per node and one per tile, at least one.
 */
export function shardCount(targetCount: number, tileCount: number, nodes: number, minTargetsPerShard: number): number {
  return Math.max(1, Math.min(nodes, tileCount, Math.floor(targetCount / Math.max(1, minTargetsPerShard))));
}

/**
 * Splits tiles (work estimate per tile) into `shards` sets of about equal work: largest tile
 * first to the lightest shard (ties to the lower index). Deterministic; tiles ascending per shard.
 */
export function splitTiles(work: readonly number[], shards: number): number[][] {
  return lptSplit(work, shards);
}

/**
 * Runs `count` chunk calls over `nodes` ranks with `callsPerNode` loops per rank: round robin
 * first (chunk 0 to rank 0, chunk 1 to rank 1, ...), then whichever loop is free pulls the next
 * chunk. `beforeEach` runs before a loop pulls (the orchestration holds there while paused). The
 * first failure stops further pulls and rejects. Results in chunk order. Pure scheduling: no
 * I/O of its own, so the orchestration and the remote driver share it.
 */
export async function pullChunks<T>(
  nodes: number,
  callsPerNode: number,
  count: number,
  call: (chunk: number, rank: number) => Promise<T>,
  beforeEach?: () => Promise<void>,
): Promise<T[]> {
  const out = new Array<T>(count);
  let nextChunk = 0;
  let failed = false;
  const loops: Promise<void>[] = [];
  for (let d = 0; d < callsPerNode; d++) {
    for (let rank = 0; rank < nodes; rank++) {
      loops.push(
        (async () => {
          for (;;) {
            if (beforeEach) await beforeEach();
            if (failed || nextChunk >= count) return;
            const c = nextChunk++;
            try {
              out[c] = await call(c, rank);
            } catch (e) {
              failed = true;
              throw e;
            }
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
  return out;
}
