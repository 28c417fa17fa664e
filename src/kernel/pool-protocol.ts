// Messages between the tile pool (pool.ts) and its worker threads (worker.ts).
import type { OffsetTask } from './offsets.ts';
import type { PeelJob } from './peel.ts';
import type { LevelState, LevelStatic, PlanOptions, StateBuffers } from './types.ts';

export type TileMode = 'iterate' | 'vote';

export type ToWorker =
  | { type: 'level'; key: string; s: LevelStatic; options: PlanOptions }
  /** The run is over: let go of the level (its shared arrays live as long as any thread holds them). */
  | { type: 'forget' }
  /**
   * One run of a level's tiles: claim tiles `order[c]` for c = Atomics.add(counters, 0, 1) while
   * c < order.length, write each into `into` (shared), its changed count into `changed[tile]`,
   * then Atomics.add(counters, 1, 1) (tiles finished); afterwards, poll the port `pollMs` for the
   * next message before sleeping (worker.ts, pollPort).
   */
  | { type: 'run'; job: number; key: string; state: LevelState; into: StateBuffers; mode: TileMode; order: Int32Array; counters: Int32Array; changed: Int32Array; pollMs: number }
  /** Lab of pixels from..to-1 into the shared `lab`; `rgba` and `hole` are copies of that range (from = base). */
  | { type: 'lab'; job: number; rgba: Uint8Array; hole: Uint8Array; from: number; to: number; lab: Float32Array }
  /** The offset statistics of a fill (offsets.ts; the task's arrays are shared). */
  | { type: 'offsets'; job: number; task: OffsetTask }
  /**
   * Help the calling thread peel the top level (joinPeel); no reply is awaited, the job's counters
   * say when it is done. Then poll the port `pollMs` (the top level's first run follows).
   */
  | { type: 'peel'; job: PeelJob; pollMs: number };

/** `ran`: after a run, the tiles this worker ran and whether it finished the run's last tile. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'ran'; job: number; tiles: number; completed: boolean }
  | { type: 'lab-done'; job: number }
  | { type: 'offsets-done'; job: number; offsets: Int32Array }
  /** After helping a peel: the pixels this worker peeled (0 when it came too late). */
  | { type: 'peeled'; pixels: number }
  | { type: 'error'; message: string };
