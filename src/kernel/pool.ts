// Runs a level's tiles on the calling thread and on worker threads at once. Tiles are handed out
// from one queue, costliest first (longest-processing-time order, so no thread is left with a big
// tile at the end), to whoever is free; results are kept by tile index, so the assembled state is
// the same whoever ran what. Workers start in the background and join as soon as they are ready,
// so their start-up overlaps prepare and the first (small, coarse) levels.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runTile } from './tile-step.ts';
import type { FromWorker, TileMode, ToWorker } from './pool-protocol.ts';
import type { LevelState, LevelStatic, PlanOptions, StateBuffers, TileResult } from './types.ts';

type WorkerSource = { code: string } | { file: URL };

/**
 * The worker's code. Run from TypeScript sources, the worker entry and what it imports are
 * bundled once per process to plain JavaScript with esbuild (~60 ms, in the background) and
 * started as an eval'd CommonJS script: a worker that registers tsx instead costs ~20 MB more and
 * starts slower. esbuild is imported from this file and the bundle resolves nothing at run time
 * (only node: built-ins stay external), so the command runs from any working directory. Built to
 * JavaScript, the worker file is loaded as it is.
 */
let bundled: Promise<WorkerSource> | null = null;

function workerSource(): Promise<WorkerSource> {
  if (!import.meta.url.endsWith('.ts')) return Promise.resolve({ file: new URL('./worker.js', import.meta.url) });
  bundled ??= import('esbuild').then(async ({ build }) => {
    const out = await build({
      entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    return { code: out.outputFiles[0].text };
  });
  return bundled;
}

/**
 * The bundle needs no loader: the worker does not inherit the process's --import of tsx (each
 * worker would load and register it again, a few MB and milliseconds for nothing).
 */
function startWorker(source: WorkerSource): Worker {
  return 'code' in source ? new Worker(source.code, { eval: true, execArgv: [] }) : new Worker(source.file);
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Level key and state object the worker holds. */
  levelKey: string | null;
  state: LevelState | null;
  /** The buffers its tiles write into (a new state message whenever either changes). */
  into: StateBuffers | undefined;
  inFlight: number;
}

/** Tiles a worker may hold at once: one running, one queued, so it never waits for the main thread. */
const DEPTH = 2;

/**
 * A level whose tiles hold fewer target patches than this runs on the calling thread alone: its
 * whole iteration takes well under a millisecond, less than handing tiles to a worker and back.
 */
export const INLINE_TARGETS = 3000;

export interface TileExecutor {
  /**
   * Runs every tile of a level for `state` (mode 'iterate' or 'vote'); results in tile order.
   * With `into` (on shared memory when workers take part), tiles write their ranges there.
   */
  run(s: LevelStatic, key: string, state: LevelState, options: PlanOptions, mode: TileMode, into?: StateBuffers): Promise<TileResult[]>;
  /** Gives the executor back (a shared pool stays alive for the next run). */
  close(): Promise<void>;
}

/** Milliseconds spent in tile steps on the calling thread (benchmarks: serial fraction). */
export const tileClock = { ms: 0 };

/** Tiles run by worker threads since the process started (tests: the workers did take part). */
export const workerTiles = { count: 0 };

/** Tile indices, costliest (most target patches) first; ties in index order. */
export function tileOrder(s: LevelStatic): Int32Array {
  const n = s.tiles.length >> 2;
  const order = Int32Array.from({ length: n }, (_, k) => k);
  const cost = (k: number): number => s.tileTargetStart[k + 1] - s.tileTargetStart[k];
  order.sort((a, b) => cost(b) - cost(a) || a - b);
  return order;
}

let pool: { threads: number; executor: TileExecutor; terminate: () => Promise<void> } | null = null;
let poolQueue: Promise<void> = Promise.resolve();

/**
 * The process-wide pool of `threads` worker threads (plus the calling thread). Runs take turns:
 * the promise resolves when the pool is free, and the run's close() frees it again.
 */
export async function sharedPool(threads: number): Promise<TileExecutor> {
  let release!: () => void;
  const turn = poolQueue;
  poolQueue = new Promise<void>((resolve) => (release = resolve));
  await turn;
  if (pool && pool.threads !== threads) {
    await pool.terminate();
    pool = null;
  }
  if (!pool) {
    const executor = poolExecutor(threads);
    pool = { threads, executor, terminate: () => executor.close() };
  }
  const current = pool;
  return {
    run: async (...args) => {
      try {
        return await current.executor.run(...args);
      } catch (e) {
        // A failed worker leaves the pool unusable: the next run starts a fresh one.
        if (pool === current) pool = null;
        await current.terminate();
        throw e;
      }
    },
    close: () => {
      release();
      return Promise.resolve();
    },
  };
}

/** Stops the shared pool's threads (they are unref'd, so a process may also just exit). */
export async function closeSharedPool(): Promise<void> {
  const p = pool;
  pool = null;
  if (p) await p.terminate();
}

function runInline(s: LevelStatic, state: LevelState, options: PlanOptions, mode: TileMode, into?: StateBuffers): TileResult[] {
  const n = s.tiles.length >> 2;
  const results: TileResult[] = [];
  const t0 = performance.now();
  for (let k = 0; k < n; k++) results.push(runTile(s, state, options, k, mode, into));
  tileClock.ms += performance.now() - t0;
  return results;
}

/** Everything on the calling thread. */
export function inlineExecutor(): TileExecutor {
  return {
    run: (s, _key, state, options, mode, into) => Promise.resolve(runInline(s, state, options, mode, into)),
    close: () => Promise.resolve(),
  };
}

/** The calling thread plus `threads` worker threads. */
export function poolExecutor(threads: number): TileExecutor {
  const slots: Slot[] = [];
  let current: {
    s: LevelStatic;
    key: string;
    state: LevelState;
    into: StateBuffers | undefined;
    options: PlanOptions;
    mode: TileMode;
    order: Int32Array;
    next: number;
    done: number;
    results: TileResult[];
    finish: () => void;
    fail: (e: Error) => void;
  } | null = null;
  let failure: Error | null = null;
  let closed = false;
  // Tile order by level key: the same level's tiles are handed out in the same order every iteration.
  let orderKey: string | null = null;
  let order: Int32Array = new Int32Array(0);

  const feed = (slot: Slot): void => {
    const job = current;
    if (!job || !slot.ready) return;
    const n = job.order.length;
    while (slot.inFlight < DEPTH && job.next < n) {
      if (slot.levelKey !== job.key) {
        slot.worker.postMessage({ type: 'level', key: job.key, s: job.s, options: job.options } satisfies ToWorker);
        slot.levelKey = job.key;
        slot.state = null;
      }
      if (slot.state !== job.state || slot.into !== job.into) {
        slot.worker.postMessage({ type: 'state', key: job.key, state: job.state, into: job.into } satisfies ToWorker);
        slot.state = job.state;
        slot.into = job.into;
      }
      slot.worker.postMessage({ type: 'tile', key: job.key, tile: job.order[job.next++], mode: job.mode } satisfies ToWorker);
      slot.inFlight++;
    }
  };

  const addWorker = (source: WorkerSource): void => {
    const slot: Slot = { worker: startWorker(source), ready: false, levelKey: null, state: null, into: undefined, inFlight: 0 };
    slot.worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        slot.ready = true;
        feed(slot);
      } else if (msg.type === 'result') {
        slot.inFlight--;
        const job = current;
        if (!job || msg.key !== job.key) return;
        job.results[msg.result.tile] = msg.result;
        job.done++;
        workerTiles.count++;
        if (job.done === job.order.length) job.finish();
        else feed(slot);
      } else {
        const err = new Error(`kernel worker failed: ${msg.message}`);
        failure = err;
        current?.fail(err);
      }
    });
    slot.worker.on('error', (e) => {
      failure = e;
      current?.fail(e);
    });
    // Between runs the threads must not keep the process alive; during one they are ref'd.
    if (!current) slot.worker.unref();
    slots.push(slot);
  };

  const starting = workerSource().then(
    (source) => {
      if (closed) return;
      for (let i = 0; i < threads; i++) addWorker(source);
    },
    (e: unknown) => {
      failure = e instanceof Error ? e : new Error(String(e));
      current?.fail(failure);
    },
  );

  return {
    async run(s, key, state, options, mode, into) {
      if (failure) throw failure;
      if (s.targetPixels.length < INLINE_TARGETS) return runInline(s, state, options, mode, into);
      if (orderKey !== key) {
        order = tileOrder(s);
        orderKey = key;
      }
      const n = order.length;
      const results = new Array<TileResult>(n);
      const all = new Promise<void>((resolve, reject) => {
        current = { s, key, state, into, options, mode, order, next: 0, done: 0, results, finish: resolve, fail: reject };
      });
      const job = current!;
      for (const slot of slots) slot.worker.ref();
      for (const slot of slots) feed(slot);
      // The calling thread takes tiles too, yielding between them so workers get fed.
      while (job.next < n) {
        const k = job.order[job.next++];
        const t0 = performance.now();
        results[k] = runTile(s, state, options, k, mode, into);
        tileClock.ms += performance.now() - t0;
        if (++job.done === n) job.finish();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      try {
        await all;
      } finally {
        current = null;
        for (const slot of slots) slot.worker.unref();
      }
      return results;
    },
    async close() {
      closed = true;
      await starting;
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
