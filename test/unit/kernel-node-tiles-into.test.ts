// A node's tile tasks written into shared next-state buffers (WorkerPool.tileInto, what
// tile-runner.ts uses) give the same next state as tile tasks whose results come back by message
// (WorkerPool.tile), in iterate and vote mode, on real worker threads; the pool forgets the
// output once dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemble, stateBuffers } from '../../src/kernel/assemble.ts';
import { initTopLevel, initFromCoarser } from '../../src/kernel/init-level.ts';
import { resolveOptions } from '../../src/kernel/options.ts';
import { resultIn, shareState } from '../../src/kernel/node/tile-runner.ts';
import { syntheticInputs } from '../../src/kernel/node/warm-up.ts';
import { WorkerPool } from '../../src/kernel/node/worker-pool.ts';
import type { LevelState, LevelStatic, TileResult } from '../../src/kernel/types.ts';

const KEY = 'test:tiles-into';
const bytes = (a: Float32Array | Int32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('tiles written into shared next-state buffers give the same state as tiles sent back by message', async () => {
  const pool = new WorkerPool(2);
  try {
    const { image, hole } = syntheticInputs();
    const options = resolveOptions({ seed: 3 }).plan;
    const { prepared } = await pool.prepare(image, hole, null, options);
    const levels = prepared.levels;
    assert.ok(levels.length >= 2);
    pool.addJob(KEY, { image, levels, options });
    const run = async (s: LevelStatic, state: LevelState, mode: 'iterate' | 'vote'): Promise<{ byMessage: TileResult[]; inPlace: TileResult[]; into: ReturnType<typeof stateBuffers> }> => {
      const stateId = pool.addState(shareState(state));
      const into = stateBuffers(s, mode);
      const outputId = pool.addOutput(into);
      const count = s.tiles.length >> 2;
      try {
        const byMessage = await Promise.all(Array.from({ length: count }, async (_, k) => (await pool.tile(KEY, stateId, s.level, k, mode)).result));
        const inPlace = await Promise.all(Array.from({ length: count }, async (_, k) => resultIn(s, into, state.iteration, k, mode, (await pool.tileInto(KEY, stateId, outputId, s.level, k, mode)).changed)));
        return { byMessage, inPlace, into };
      } finally {
        pool.dropState(stateId);
        pool.dropOutput(outputId);
      }
    };
    const top = levels.length - 1;
    let state = initTopLevel(levels[top], options);
    for (let step = 0; step < 3; step++) {
      const s = levels[top];
      const { byMessage, inPlace, into } = await run(s, state, 'iterate');
      for (const [k, r] of byMessage.entries()) {
        const q = inPlace[k];
        assert.equal(q.changed, r.changed, `tile ${k} changed`);
        assert.ok(bytes(q.values).equals(bytes(r.values)) && bytes(q.nnf).equals(bytes(r.nnf)) && bytes(q.dist).equals(bytes(r.dist)), `tile ${k} of step ${step}`);
      }
      const a = assemble(s, state, byMessage, options);
      const b = assemble(s, state, inPlace, options, into);
      assert.equal(b.values, into.values, 'assembled into the buffers the tiles wrote');
      assert.ok(bytes(a.values).equals(bytes(b.values)) && bytes(a.nnf).equals(bytes(b.nnf)) && bytes(a.dist).equals(bytes(b.dist)));
      assert.equal(a.voteScale, b.voteScale);
      state = b;
    }
    // A finer level and its vote (the nnf and dist of a vote are empty).
    const fine = initFromCoarser(levels[top - 1], levels[top], state, options);
    const vote = await run(levels[top - 1], fine, 'vote');
    for (const [k, r] of vote.byMessage.entries()) {
      assert.ok(bytes(vote.inPlace[k].values).equals(bytes(r.values)), `vote tile ${k}`);
      assert.equal(vote.inPlace[k].nnf.length, 0);
    }
    // The output is gone from the pool once dropped.
    const stateId = pool.addState(shareState(fine));
    await assert.rejects(pool.tileInto(KEY, stateId, 9999, top - 1, 0, 'iterate'), /output 9999 is not in the pool/);
    pool.dropState(stateId);
    assert.equal(pool.running, 0);
  } finally {
    pool.forgetJob(KEY);
    await pool.close();
  }
});
