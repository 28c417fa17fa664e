// The node's worker threads: one FIFO of kernel tasks (prepare, tile, preview) served by N
// workers, each holding at most two tasks (one running, one waiting) so it never idles while
// the main thread is busy with I/O. Jobs and level states are installed in a worker lazily,
// just before its first task that needs them; a worker that dies is replaced and its tasks fail.
import type { Worker } from 'node:worker_threads';
import { CodedError } from '../../common/errors.ts';
import { KernelError, type KernelErrorCode } from '../errors.ts';
import { startWorker, workerSourceSync } from '../worker-bundle.ts';
import type { PeelJob } from '../peel.ts';
import type { TileMode } from '../pool-protocol.ts';
import type { Prepared } from '../prepare.ts';
import type { LevelState, PlanOptions, RgbaImage, TileResult } from '../types.ts';
import type { FromWorker, StepEvent, ToWorker, WorkerJob } from './worker-protocol.ts';

/** The worker's code: bundled from node-worker.ts when running from sources (worker-bundle.ts). */
const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './node-worker.ts' : './node-worker.js', import.meta.url);

const DEPTH = 2;

type TaskMessage = Extract<ToWorker, { id: number }>;

interface Task {
  msg: TaskMessage;
  jobKey?: string;
  stateId?: number;
  /** Intermediate messages of a long task ('levels'); the task ends with its final reply. */
  onStep?: (step: StepEvent) => void;
  /** A queued task whose signal has aborted is dropped instead of run. */
  signal?: AbortSignal;
  resolve: (reply: FromWorker) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  jobs: Set<string>;
  states: Set<number>;
  inFlight: Map<number, Task>;
}

export class WorkerPool {
  readonly size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  readonly #jobs = new Map<string, WorkerJob>();
  readonly #states = new Map<number, LevelState>();
  readonly #stateIds = new Map<LevelState, { id: number; users: number }>();
  #nextId = 1;
  #nextState = 1;
  #closed = false;

  constructor(size: number) {
    this.size = size;
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Tasks handed to workers and not finished. */
  get running(): number {
    return this.#slots.reduce((n, s) => n + s.inFlight.size, 0);
  }

  addJob(jobKey: string, job: WorkerJob): void {
    this.#jobs.set(jobKey, job);
  }

  forgetJob(jobKey: string): void {
    this.#jobs.delete(jobKey);
    for (const slot of this.#slots) {
      if (slot.jobs.delete(jobKey)) this.#post(slot, { type: 'forget', jobKey });
    }
  }

  /**
   * Installs a state for tile tasks (lazily, per worker) and returns its id; the same state
   * object gets the same id while in use, so concurrent calls of one step share it.
   * Release it with dropState (it goes when the last user drops it).
   */
  addState(state: LevelState): number {
    let entry = this.#stateIds.get(state);
    if (!entry) {
      entry = { id: this.#nextState++, users: 0 };
      this.#stateIds.set(state, entry);
      this.#states.set(entry.id, state);
    }
    entry.users++;
    return entry.id;
  }

  dropState(stateId: number): void {
    const state = this.#states.get(stateId);
    if (!state) return;
    const entry = this.#stateIds.get(state)!;
    if (--entry.users > 0) return;
    this.#stateIds.delete(state);
    this.#states.delete(stateId);
    for (const slot of this.#slots) {
      if (slot.states.delete(stateId)) this.#post(slot, { type: 'dropState', stateId });
    }
  }

  async prepare(image: RgbaImage, hole: Uint8Array, donor: Uint8Array | null, options: PlanOptions): Promise<{ prepared: Prepared; ms: number }> {
    const reply = await this.#run({ msg: { type: 'prepare', id: 0, image, hole, donor, options } });
    if (reply.type !== 'prepared') throw new Error(`worker answered ${reply.type} to prepare`);
    return { prepared: reply.prepared, ms: reply.ms };
  }

  async tile(jobKey: string, stateId: number, level: number, tile: number, mode: TileMode, signal?: AbortSignal): Promise<{ result: TileResult; ms: number }> {
    const reply = await this.#run({ msg: { type: 'tile', id: 0, jobKey, stateId, level, tile, mode }, jobKey, stateId, signal });
    if (reply.type !== 'tile') throw new Error(`worker answered ${reply.type} to tile`);
    return { result: reply.result, ms: reply.ms };
  }

  async preview(jobKey: string, level: number, values: Float32Array): Promise<{ image: RgbaImage; ms: number }> {
    const reply = await this.#run({ msg: { type: 'preview', id: 0, jobKey, level, values }, jobKey });
    if (reply.type !== 'preview') throw new Error(`worker answered ${reply.type} to preview`);
    return { image: reply.image, ms: reply.ms };
  }

  /** Runs every step from `state` on one worker until level `through` converges; `onStep` sees each. */
  async runLevels(jobKey: string, state: LevelState, through: number, onStep: (step: StepEvent) => void, signal?: AbortSignal): Promise<void> {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = (): void => void Atomics.store(stop, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    const reply = await this.#run({ msg: { type: 'levels', id: 0, jobKey, state, through, stop }, jobKey, onStep, signal }).finally(() => signal?.removeEventListener('abort', onAbort));
    if (reply.type !== 'levels') throw new Error(`worker answered ${reply.type} to levels`);
  }

  /**
   * Hands a top-level peel (peel.ts) to every ready worker, which peels pixels alongside the
   * calling thread until none are left (a busy worker joins late and finds less or nothing).
   */
  sharePeel(job: PeelJob): void {
    for (const slot of this.#slots) if (slot.ready) this.#post(slot, { type: 'peel', job });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const err = new Error('worker pool closed');
    for (const t of this.#queue.splice(0)) t.reject(err);
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #run(partial: Omit<Task, 'resolve' | 'reject'>): Promise<FromWorker> {
    if (this.#closed) return Promise.reject(new Error('worker pool closed'));
    return new Promise((resolve, reject) => {
      partial.msg.id = this.#nextId++;
      this.#queue.push({ ...partial, resolve, reject });
      this.#pump();
    });
  }

  #post(slot: Slot, msg: ToWorker): void {
    slot.worker.postMessage(msg);
  }

  #pump(): void {
    for (const slot of this.#slots) {
      while (slot.ready && slot.inFlight.size < DEPTH && this.#queue.length > 0) {
        const task = this.#queue.shift()!;
        if (task.signal?.aborted) {
          task.reject(new CodedError('CANCELLED', 'the caller gave up before this task ran'));
          continue;
        }
        try {
          if (task.jobKey && !slot.jobs.has(task.jobKey)) {
            const job = this.#jobs.get(task.jobKey);
            if (!job) throw new Error(`job ${task.jobKey} is not in the pool`);
            this.#post(slot, { type: 'job', jobKey: task.jobKey, job });
            slot.jobs.add(task.jobKey);
          }
          if (task.stateId !== undefined && !slot.states.has(task.stateId)) {
            const state = this.#states.get(task.stateId);
            if (!state) throw new Error(`state ${task.stateId} is not in the pool`);
            this.#post(slot, { type: 'state', stateId: task.stateId, state });
            slot.states.add(task.stateId);
          }
        } catch (e) {
          task.reject(e as Error);
          continue;
        }
        slot.inFlight.set(task.msg.id, task);
        this.#post(slot, task.msg);
      }
    }
  }

  #spawn(): Slot {
    const slot: Slot = { worker: startWorker(workerSourceSync(WORKER_ENTRY)), ready: false, jobs: new Set(), states: new Set(), inFlight: new Map() };
    slot.worker.unref();
    slot.worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        slot.ready = true;
        this.#pump();
        return;
      }
      const task = slot.inFlight.get(msg.id);
      if (!task) return;
      if (msg.type === 'step') {
        try {
          task.onStep?.(msg.step);
        } catch (e) {
          // The task's owner failed on a step: it learns from the rejection; the worker runs on.
          task.onStep = undefined;
          task.reject(e as Error);
        }
        return;
      }
      slot.inFlight.delete(msg.id);
      if (msg.type === 'error') task.reject(msg.code ? new KernelError(msg.code as KernelErrorCode, msg.message) : new Error(`kernel worker: ${msg.message}`));
      else task.resolve(msg);
      this.#pump();
    });
    const fail = (why: string): void => {
      const i = this.#slots.indexOf(slot);
      if (i < 0 || this.#closed) return;
      const err = new Error(`kernel worker thread died: ${why}`);
      for (const t of slot.inFlight.values()) t.reject(err);
      slot.inFlight.clear();
      this.#slots[i] = this.#spawn();
    };
    slot.worker.on('error', (e) => fail(e.message));
    slot.worker.on('exit', (code) => fail(`exit code ${code}`));
    return slot;
  }
}
