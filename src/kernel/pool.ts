// Runs a level's tiles on the calling thread and on worker threads at once. Tiles are claimed
// from one shared atomic counter, costliest first (longest-processing-time order, so no thread is
// left with a big tile at the end), by whichever thread is free: no thread waits for another to
// hand it work, which on a busy machine (a thread off the CPU for a time slice) is what costs.
// Tiles write their ranges of the next state into shared buffers; results are kept by tile
// index, so the assembled state is the same whoever ran what. Workers start in the background and
// join as soon as they are ready, so their start-up overlaps prepare and the first levels.
import type { Worker } from 'node:worker_threads';
import { stateBuffers } from './assemble.ts';
import { knownLab } from './color.ts';
import { fillClock } from './fill-clock.ts';
import type { OffsetTask } from './offsets.ts';
import type { PeelJob } from './peel.ts';
import { allocArray, isShared } from './shared-memory.ts';
import { runTile, searchRounds } from './tile-step.ts';
import { startWorker, workerSource, type WorkerSource } from './worker-bundle.ts';
import type { FromWorker, TileMode, ToWorker } from './pool-protocol.ts';
import type { LevelState, LevelStatic, PlanOptions, RgbaImage, StateBuffers, TileResult } from './types.ts';

const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Level key the worker holds the static data of. */
  levelKey: string | null;
}

/**
 * A level whose iteration costs less than this runs on the calling thread alone, cost being target
 * patches x random-search sweeps (tile-step.ts, searchRounds; a vote counts one): about 1.5 us
 * each here, so below it an iteration takes under half a millisecond. Claiming costs a worker
 * one message per run, so even small levels gain from a free core: paired 1/2-thread runs at
 * capacity 1.8-1.9 gave t058 1.41x with 1000 and 1.50x with 300, t020 1.56x and 1.59x.
 */
export const INLINE_COST = 300;

/**
 * Once it finds no tile left, the calling thread waits up to this long on the finished-tiles
 * counter itself (spinning, then Atomics.wait: see handOff) before it waits for the worker's
 * message: a worker finishing its last tile then lets it go on at once instead of through a
 * message and the event loop.
 */
const SYNC_WAIT_MS = 3;

/**
 * How threads hand runs over; benchmarks flip these for paired A/B runs (0 and 0: the old
 * sleeping hand-off). `workerPollMs`: after a run or a shared peel a worker polls its port this
 * long for the next run instead of sleeping (worker.ts, pollPort). `mainSpinMs`: once it finds no tile left, the
 * calling thread spins on the finished-tiles counter this long before it sleeps in Atomics.wait
 * (up to SYNC_WAIT_MS in all). A sleeping thread must be woken, and on a busy 2-vCPU machine the
 * scheduler often runs the woken thread on the waker's core, so one waits for the other.
 */
export const handOff = { workerPollMs: 2, mainSpinMs: SYNC_WAIT_MS };

function levelCost(s: LevelStatic, mode: TileMode): number {
  return s.targetPixels.length * (mode === 'vote' ? 1 : searchRounds(s.level));
}

export interface TileExecutor {
  /**
   * Runs every tile of a level for `state` (mode 'iterate' or 'vote'); results in tile order.
   * With `into` (on shared memory when workers take part), tiles write their ranges there.
   */
  run(s: LevelStatic, key: string, state: LevelState, options: PlanOptions, mode: TileMode, into?: StateBuffers): Promise<TileResult[]>;
  /**
   * The Lab of `image`'s known pixels (0 on the hole), on shared memory, converted by the calling
   * thread and a worker at once (prepare's costliest part); null when there is no worker to share
   * it with (prepare then converts it alone).
   */
  lab(image: RgbaImage, hole: Uint8Array): Promise<Float32Array | null>;
  /**
   * Starts the offset statistics of `task` (runOffsetTask) on a worker thread, so the calling
   * thread can do other work meanwhile; null when there is no worker (or the task's arrays are
   * not shared): the caller takes them itself. No other call may be made before it settles.
   */
  offsets(task: OffsetTask): Promise<Int32Array> | null;
  /**
   * A function that hands a top-level peel (peel.ts, PeelJob) to every ready worker thread, which
   * join it once free (a worker taking the offsets finishes them first); null without workers.
   */
  sharePeel(): ((job: PeelJob) => void) | null;
  /** Gives the executor back (a shared pool stays alive for the next run). */
  close(): Promise<void>;
}

/** The pool behind a shared executor: a TileExecutor whose threads also let go of the last level. */
interface PoolExecutor extends TileExecutor {
  /** Workers drop the level they hold (between fills, so a finished fill's arrays can be freed). */
  forget(): void;
}

/** Milliseconds spent in tile steps on the calling thread (benchmarks: serial fraction). */
export const tileClock = {
  ms: 0,
  /** Of which on levels too small for workers (they stay on one thread however many there are). */
  smallMs: 0,
};

/** Tiles run by worker threads since the process started (tests: the workers did take part). */
export const workerTiles = { count: 0 };

/** Offset statistics taken by worker threads since the process started (tests: they were). */
export const workerOffsets = { count: 0 };

/** Top-level peel pixels peeled by worker threads since the process started (tests: they helped). */
export const workerPeel = { pixels: 0 };

/** Tile indices, costliest (most target patches) first; ties in index order. */
export function tileOrder(s: LevelStatic): Int32Array {
  const n = s.tiles.length >> 2;
  const order = Int32Array.from({ length: n }, (_, k) => k);
  const cost = (k: number): number => s.tileTargetStart[k + 1] - s.tileTargetStart[k];
  order.sort((a, b) => cost(b) - cost(a) || a - b);
  return order;
}

let pool: { threads: number; executor: PoolExecutor; terminate: () => Promise<void> } | null = null;
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
  // A failed worker leaves the pool unusable: the next run starts a fresh one.
  const guarded = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (pool === current) pool = null;
      await current.terminate();
      throw e;
    }
  };
  return {
    run: (...args) => guarded(() => current.executor.run(...args)),
    lab: (...args) => guarded(() => current.executor.lab(...args)),
    offsets: (task) => {
      const started = current.executor.offsets(task);
      return started && guarded(() => started);
    },
    sharePeel: () => current.executor.sharePeel(),
    close: () => {
      current.executor.forget();
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
  const ms = performance.now() - t0;
  tileClock.ms += ms;
  if (levelCost(s, mode) < INLINE_COST) {
    tileClock.smallMs += ms;
    fillClock.smallTiles += ms;
  } else fillClock.poolTiles += ms;
  return results;
}

/** Everything on the calling thread. */
export function inlineExecutor(): TileExecutor {
  return {
    run: (s, _key, state, options, mode, into) => Promise.resolve(runInline(s, state, options, mode, into)),
    lab: () => Promise.resolve(null),
    offsets: () => null,
    sharePeel: () => null,
    close: () => Promise.resolve(),
  };
}

/** The calling thread plus `threads` worker threads. */
export function poolExecutor(threads: number): PoolExecutor {
  const slots: Slot[] = [];
  let current: { id: number; finish: () => void; fail: (e: Error) => void } | null = null;
  /** The offsets a worker sent back for the current job. */
  let offsetsFound: Int32Array | null = null;
  let jobs = 0;
  let failure: Error | null = null;
  let closed = false;
  // Tile order by level key: the same level's tiles are claimed in the same order every iteration.
  let orderKey: string | null = null;
  let order: Int32Array = new Int32Array(0);

  const fail = (e: Error): void => {
    failure = e;
    current?.fail(e);
  };

  const addWorker = (source: WorkerSource): void => {
    const slot: Slot = { worker: startWorker(source), ready: false, levelKey: null };
    slot.worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        // It takes part from the next run on.
        slot.ready = true;
      } else if (msg.type === 'ran') {
        workerTiles.count += msg.tiles;
        if (msg.completed && current?.id === msg.job) current.finish();
      } else if (msg.type === 'lab-done') {
        if (current?.id === msg.job) current.finish();
      } else if (msg.type === 'peeled') {
        workerPeel.pixels += msg.pixels;
      } else if (msg.type === 'offsets-done') {
        workerOffsets.count++;
        if (current?.id === msg.job) {
          offsetsFound = msg.offsets;
          current.finish();
        }
      } else {
        fail(new Error(`kernel worker failed: ${msg.message}`));
      }
    });
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!closed) fail(new Error(`kernel worker exited (code ${code})`));
    });
    // Between runs the threads must not keep the process alive; during one they are ref'd.
    if (!current) slot.worker.unref();
    slots.push(slot);
  };

  const starting = workerSource(WORKER_ENTRY).then(
    (source) => {
      if (closed) return;
      for (let i = 0; i < threads; i++) addWorker(source);
    },
    (e: unknown) => fail(e instanceof Error ? e : new Error(String(e))),
  );

  return {
    async run(s, key, state, options, mode, given) {
      if (failure) throw failure;
      // Workers write into shared memory only: a level not prepared for them stays here.
      if (levelCost(s, mode) < INLINE_COST || !isShared(s.lab)) return runInline(s, state, options, mode, given);
      const entered = performance.now();
      const into = given ?? stateBuffers(s, mode);
      // While workers are starting, let their 'ready' in: a run whose last tile the calling thread
      // finishes never returns to the event loop (its promise is already settled).
      if (slots.length < threads || slots.some((slot) => !slot.ready)) await new Promise<void>((resolve) => setImmediate(resolve));
      if (orderKey !== key) {
        order = tileOrder(s);
        orderKey = key;
      }
      const n = order.length;
      // [next tile to claim, tiles finished]; per tile, its count of changed pixels. Fresh per
      // run, so a worker that wakes up late to an old run finds nothing left to claim.
      const counters = new Int32Array(new SharedArrayBuffer(8));
      const changed = new Int32Array(new SharedArrayBuffer(4 * n));
      const id = ++jobs;
      const all = new Promise<void>((resolve, reject) => {
        current = { id, finish: resolve, fail: reject };
      });
      for (const slot of slots) {
        if (!slot.ready) continue;
        slot.worker.ref();
        if (slot.levelKey !== key) {
          slot.worker.postMessage({ type: 'level', key, s, options } satisfies ToWorker);
          slot.levelKey = key;
        }
        slot.worker.postMessage({ type: 'run', job: id, key, state, into, mode, order, counters, changed, pollMs: handOff.workerPollMs } satisfies ToWorker);
      }
      // The calling thread claims tiles like any worker.
      const t0 = performance.now();
      fillClock.dispatch += t0 - entered;
      for (;;) {
        const c = Atomics.add(counters, 0, 1);
        if (c >= n) break;
        const k = order[c];
        changed[k] = runTile(s, state, options, k, mode, into).changed;
        if (Atomics.add(counters, 1, 1) + 1 === n) current!.finish();
      }
      const t1 = performance.now();
      tileClock.ms += t1 - t0;
      fillClock.poolTiles += t1 - t0;
      while (Atomics.load(counters, 1) < n && performance.now() - t1 < handOff.mainSpinMs);
      for (let seen = Atomics.load(counters, 1); seen < n && performance.now() - t1 < SYNC_WAIT_MS; seen = Atomics.load(counters, 1)) {
        Atomics.wait(counters, 1, seen, SYNC_WAIT_MS);
      }
      if (Atomics.load(counters, 1) === n) current!.finish();
      try {
        await all;
      } finally {
        current = null;
        for (const slot of slots) slot.worker.unref();
      }
      const waited = performance.now();
      fillClock.poolWait += waited - t1;
      const results = new Array<TileResult>(n);
      const empty = { nnf: new Int32Array(0), dist: new Float32Array(0) };
      for (let k = 0; k < n; k++) {
        const h0 = s.tileHoleStart[k] * 3;
        const h1 = s.tileHoleStart[k + 1] * 3;
        const t0k = s.tileTargetStart[k];
        const t1k = s.tileTargetStart[k + 1];
        results[k] = {
          level: s.level,
          iteration: state.iteration,
          tile: k,
          values: into.values.subarray(h0, h1),
          nnf: mode === 'vote' ? empty.nnf : into.nnf.subarray(t0k, t1k),
          dist: mode === 'vote' ? empty.dist : into.dist.subarray(t0k, t1k),
          changed: changed[k],
        };
      }
      fillClock.dispatch += performance.now() - waited;
      return results;
    },
    sharePeel() {
      if (failure) throw failure;
      const ready = slots.filter((slot) => slot.ready);
      if (ready.length === 0) return null;
      return (job) => {
        for (const slot of ready) slot.worker.postMessage({ type: 'peel', job, pollMs: handOff.workerPollMs } satisfies ToWorker);
      };
    },
    forget() {
      orderKey = null;
      for (const slot of slots) {
        if (slot.levelKey === null) continue;
        slot.worker.postMessage({ type: 'forget' } satisfies ToWorker);
        slot.levelKey = null;
      }
    },
    async lab(image, hole) {
      if (failure) throw failure;
      const slot = slots.find((x) => x.ready);
      const n = image.width * image.height;
      if (!slot) return null;
      const lab = allocArray(Float32Array, n * 3, true);
      // The worker takes the second half of the rows, from copies of its range (handed over).
      const mid = Math.floor(image.height / 2) * image.width;
      const rgba = image.data.slice(mid * 4);
      const holePart = hole.slice(mid);
      const id = ++jobs;
      const done = new Promise<void>((resolve, reject) => {
        current = { id, finish: resolve, fail: reject };
      });
      slot.worker.ref();
      slot.worker.postMessage({ type: 'lab', job: id, rgba, hole: holePart, from: mid, to: n, lab } satisfies ToWorker, [rgba.buffer, holePart.buffer]);
      try {
        knownLab(image.data, hole, 0, 0, mid, lab);
        await done;
      } finally {
        current = null;
        slot.worker.unref();
      }
      return lab;
    },
    offsets(task) {
      if (failure) throw failure;
      const slot = slots.find((x) => x.ready);
      if (!slot || !isShared(task.lab) || !isShared(task.validSource)) return null;
      const id = ++jobs;
      offsetsFound = null;
      const done = new Promise<void>((resolve, reject) => {
        current = { id, finish: resolve, fail: reject };
      });
      slot.worker.ref();
      slot.worker.postMessage({ type: 'offsets', job: id, task } satisfies ToWorker);
      return done
        .then(() => {
          if (!offsetsFound) throw new Error('kernel worker finished the offsets without sending them');
          return offsetsFound;
        })
        .finally(() => {
          current = null;
          offsetsFound = null;
          slot.worker.unref();
        });
    },
    async close() {
      closed = true;
      await starting;
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
