// Messages between the tile pool (pool.ts) and its worker threads (worker.ts).
import type { LevelState, LevelStatic, PlanOptions, StateBuffers, TileResult } from './types.ts';

export type TileMode = 'iterate' | 'vote';

export type ToWorker =
  | { type: 'level'; key: string; s: LevelStatic; options: PlanOptions }
  | { type: 'state'; key: string; state: LevelState; into?: StateBuffers }
  | { type: 'tile'; key: string; tile: number; mode: TileMode };

export type FromWorker = { type: 'ready' } | { type: 'result'; key: string; result: TileResult } | { type: 'error'; message: string };
