// The kernel node's start-up warm-up (src/kernel/node/warm-up.ts) runs a synthetic fill through
// a real worker pool (real worker threads: prepare, a whole-levels task, tile tasks) and leaves
// nothing behind: no task running or queued, and its job forgotten (a tile task for it fails).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmUp } from '../../src/kernel/node/warm-up.ts';
import { WorkerPool } from '../../src/kernel/node/worker-pool.ts';
import type { LevelState } from '../../src/kernel/types.ts';

test('the warm-up runs a synthetic fill on the pool and leaves no job, state or task behind', async () => {
  const pool = new WorkerPool(2);
  try {
    const ms = await warmUp(pool);
    assert.ok(ms > 0);
    assert.equal(pool.running, 0);
    assert.equal(pool.queued, 0);
    const state: LevelState = { level: 0, iteration: 0, values: new Float32Array(0), nnf: new Int32Array(0), dist: new Float32Array(0), voteScale: 1, changed: 0, previousChanged: 0, warmup: 0 };
    const stateId = pool.addState(state);
    await assert.rejects(pool.tile('warm-up:synthetic', stateId, 0, 0, 'iterate'), /not in the pool/);
    pool.dropState(stateId);
  } finally {
    await pool.close();
  }
});
