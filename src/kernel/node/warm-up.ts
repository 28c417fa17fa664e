// A kernel node's start-up warm-up: one small synthetic fill through the same worker-pool paths
// real calls take (prepare in a worker; a whole-levels task, as a one-worker node's continue
// mode runs; tile tasks in iterate and vote mode on states shared from this thread, assembled
// here), so the node's first job does not pay for V8 compiling, and re-compiling after type
// feedback changes, the kernel's code. Measured (bench/cluster-threads.ts, docs/architecture.md,
// "Where a second node's CPU goes"): a fresh node's first fill cost ~+1 s CPU over a warm one.
// The synthetic job lives in the pool under its own key and is forgotten at the end; nothing it
// does is visible to calls (the kernel is deterministic per job and keeps no state across jobs).
import { assemble, converged } from '../assemble.ts';
import { initFromCoarser, initTopLevel } from '../init-level.ts';
import { resolveOptions } from '../options.ts';
import type { LevelState, RgbaImage, TileResult } from '../types.ts';
import { shareState } from './tile-runner.ts';
import type { WorkerPool } from './worker-pool.ts';

const WIDTH = 192;
const HEIGHT = 144;
const KEY = 'warm-up:synthetic';

/** A textured picture (stripes, a gradient and hashed noise) with a rectangular hole. */
function syntheticInputs(): { image: RgbaImage; hole: Uint8Array } {
  const data = new Uint8Array(WIDTH * HEIGHT * 4);
  const hole = new Uint8Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const p = y * WIDTH + x;
      const noise = (Math.imul(p ^ (p >>> 7), 0x9e3779b1) >>> 24) & 31;
      data[4 * p] = ((x >> 3) & 1 ? 180 : 60) + noise;
      data[4 * p + 1] = Math.floor((y / HEIGHT) * 200) + noise;
      data[4 * p + 2] = (((x + y) >> 4) & 1 ? 150 : 90) + noise;
      data[4 * p + 3] = 255;
      hole[p] = x >= 80 && x < 120 && y >= 56 && y < 86 ? 1 : 0;
    }
  }
  return { image: { width: WIDTH, height: HEIGHT, data }, hole };
}

/** Runs the synthetic fill on `pool`; resolves with the milliseconds it took. */
export async function warmUp(pool: WorkerPool): Promise<number> {
  const t0 = performance.now();
  const { image, hole } = syntheticInputs();
  const options = resolveOptions({ seed: 1 }).plan;
  const { prepared } = await pool.prepare(image, hole, null, options);
  const levels = prepared.levels;
  if (levels.length === 0) return performance.now() - t0;
  pool.addJob(KEY, { image, levels, options });
  try {
    const top = levels.length - 1;
    // Continue mode: every level in one worker task.
    await pool.runLevels(KEY, shareState(initTopLevel(levels[top], options)), 0, () => undefined);
    // Step mode: tile tasks per step, assembled on this thread; the last level's vote.
    let state: LevelState | null = null;
    for (let l = top; l >= 0; l--) {
      const s = levels[l];
      state = state === null ? initTopLevel(s, options) : initFromCoarser(s, levels[l + 1], state, options);
      while (!converged(s, state, options)) state = assemble(s, state, await tiles(pool, s.level, s.tiles.length >> 2, state, 'iterate'), options);
    }
    await tiles(pool, 0, levels[0].tiles.length >> 2, state!, 'vote');
  } finally {
    pool.forgetJob(KEY);
  }
  return performance.now() - t0;
}

async function tiles(pool: WorkerPool, level: number, count: number, state: LevelState, mode: 'iterate' | 'vote'): Promise<TileResult[]> {
  const stateId = pool.addState(shareState(state));
  try {
    return await Promise.all(Array.from({ length: count }, async (_, k) => (await pool.tile(KEY, stateId, level, k, mode)).result));
  } finally {
    pool.dropState(stateId);
  }
}
