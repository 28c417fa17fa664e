// Messages between a kernel node's main thread (worker-pool.ts) and its worker threads
// (node-worker.ts). Big static arrays travel on SharedArrayBuffers (shared, not copied); tile
// results come back with their buffers transferred.
import type { PeelJob } from '../peel.ts';
import type { TileMode } from '../pool-protocol.ts';
import type { Prepared } from '../prepare.ts';
import type { LevelState, LevelStatic, PlanOptions, RgbaImage, TileResult } from '../types.ts';

/** A prepared job as workers hold it: the photo (shared) and every level's static data. */
export interface WorkerJob {
  image: RgbaImage;
  levels: LevelStatic[];
  options: PlanOptions;
}

export type ToWorker =
  | { type: 'prepare'; id: number; image: RgbaImage; hole: Uint8Array; donor: Uint8Array | null; options: PlanOptions }
  | { type: 'job'; jobKey: string; job: WorkerJob }
  | { type: 'forget'; jobKey: string }
  | { type: 'state'; stateId: number; state: LevelState }
  | { type: 'dropState'; stateId: number }
  | { type: 'tile'; id: number; jobKey: string; stateId: number; level: number; tile: number; mode: TileMode }
  | { type: 'preview'; id: number; jobKey: string; level: number; values: Float32Array }
  /** Every step from `state` on, level after level, until level `through` converges. */
  | { type: 'levels'; id: number; jobKey: string; state: LevelState; through: number; stop: Int32Array }
  /** Help the main thread peel the top level (peel.ts: claims pixels until none are left); no answer. */
  | { type: 'peel'; job: PeelJob };

/** One step of a 'levels' task. */
export interface StepEvent {
  level: number;
  iteration: number;
  /** Header of the state the step started from (state-headers.ts). */
  header: Uint8Array;
  results: TileResult[];
  tileMs: Record<number, number>;
  changed: number;
  /** The level converged after this step. */
  converged: boolean;
  ms: number;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'prepared'; id: number; prepared: Prepared; ms: number }
  | { type: 'tile'; id: number; result: TileResult; ms: number }
  | { type: 'preview'; id: number; image: RgbaImage; ms: number }
  | { type: 'step'; id: number; step: StepEvent }
  | { type: 'levels'; id: number }
  | { type: 'error'; id: number; message: string; code?: string };
