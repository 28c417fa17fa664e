// Runs a level's tiles on the calling thread and on worker threads at once. Tiles are handed out
// in order from one queue to whoever is free; results are kept by tile index, so the assembled
// state is the same whoever ran what. Workers start in the background and join as soon as they
// are ready, so their start-up overlaps the first (small, coarse) levels.
import { Worker } from 'node:worker_threads';
import { runTile } from './tile-step.ts';
import type { FromWorker, TileMode, ToWorker } from './pool-protocol.ts';
import type { LevelState, LevelStatic, PlanOptions, TileResult } from './types.ts';

/** Worker threads run TypeScript through tsx: register it in the worker, then load worker.ts. */
/**
 * tsx's API resolved from this file, not from the working directory (which is where an eval
 * worker would resolve a bare 'tsx'): the command runs from any directory.
 */
function tsxApi(): string {
  return import.meta.resolve('tsx/esm/api');
}

function startWorker(): Worker {
  const entry = new URL('./worker.ts', import.meta.url).href;
  const boot = import.meta.url.endsWith('.ts')
    ? `import(${JSON.stringify(tsxApi())}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`
    : `import(${JSON.stringify(entry.replace(/\.ts$/, '.js'))})`;
  return new Worker(`${boot}.catch((e) => { console.error(e); process.exit(1); });`, { eval: true });
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Level key and state object the worker holds. */
  levelKey: string | null;
  state: LevelState | null;
  inFlight: number;
}

/** Tiles a worker may hold at once: one running, one queued, so it never waits for the main thread. */
const DEPTH = 2;

export interface TileExecutor {
  /** Runs every tile of a level for `state` (mode 'iterate' or 'vote'); results in tile order. */
  run(s: LevelStatic, key: string, state: LevelState, options: PlanOptions, mode: TileMode): Promise<TileResult[]>;
  /** Gives the executor back (a shared pool stays alive for the next run). */
  close(): Promise<void>;
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

/** Everything on the calling thread. */
export function inlineExecutor(): TileExecutor {
  return {
    run(s, _key, state, options, mode) {
      const n = s.tiles.length >> 2;
      const results: TileResult[] = [];
      for (let k = 0; k < n; k++) results.push(runTile(s, state, options, k, mode));
      return Promise.resolve(results);
    },
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
    options: PlanOptions;
    mode: TileMode;
    next: number;
    done: number;
    results: TileResult[];
    finish: () => void;
    fail: (e: Error) => void;
  } | null = null;
  let failure: Error | null = null;

  const feed = (slot: Slot): void => {
    const job = current;
    if (!job || !slot.ready) return;
    const n = job.s.tiles.length >> 2;
    while (slot.inFlight < DEPTH && job.next < n) {
      if (slot.levelKey !== job.key) {
        slot.worker.postMessage({ type: 'level', key: job.key, s: job.s, options: job.options } satisfies ToWorker);
        slot.levelKey = job.key;
        slot.state = null;
      }
      if (slot.state !== job.state) {
        slot.worker.postMessage({ type: 'state', key: job.key, state: job.state } satisfies ToWorker);
        slot.state = job.state;
      }
      slot.worker.postMessage({ type: 'tile', key: job.key, tile: job.next++, mode: job.mode } satisfies ToWorker);
      slot.inFlight++;
    }
  };

  for (let i = 0; i < threads; i++) {
    const slot: Slot = { worker: startWorker(), ready: false, levelKey: null, state: null, inFlight: 0 };
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
        if (job.done === job.s.tiles.length >> 2) job.finish();
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
    // After the listeners: attaching a 'message' listener refs the worker again.
    slot.worker.unref();
    slots.push(slot);
  }

  return {
    async run(s, key, state, options, mode) {
      if (failure) throw failure;
      const n = s.tiles.length >> 2;
      const results = new Array<TileResult>(n);
      const all = new Promise<void>((resolve, reject) => {
        current = { s, key, state, options, mode, next: 0, done: 0, results, finish: resolve, fail: reject };
      });
      const job = current!;
      // Ref the threads while a run waits on them; between runs they must not keep the process alive.
      for (const slot of slots) slot.worker.ref();
      for (const slot of slots) feed(slot);
      // The calling thread takes tiles too, yielding between them so workers get fed.
      while (job.next < n) {
        const k = job.next++;
        results[k] = runTile(s, state, options, k, mode);
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
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
