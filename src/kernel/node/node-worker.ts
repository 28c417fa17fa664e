// A kernel node's worker thread: prepares jobs, runs tiles, runs whole levels (a one-worker
// node's continue mode: no round trip to the main thread between tiles or steps) and renders
// previews. It keeps the jobs and level states the main thread installs (shared memory) and
// answers each task with its result and the milliseconds it spent in kernel code.
import { parentPort } from 'node:worker_threads';
import { assemble, converged } from '../assemble.ts';
import { preview } from '../compose.ts';
import { isKernelError } from '../errors.ts';
import { prepare } from '../prepare.ts';
import { initFromCoarser } from '../init-level.ts';
import { joinPeel } from '../peel.ts';
import { runTile } from '../tile-step.ts';
import type { LevelState, TileResult } from '../types.ts';
import { encodeHeader } from './state-headers.ts';
import type { FromWorker, StepEvent, ToWorker, WorkerJob } from './worker-protocol.ts';

if (!parentPort) throw new Error('node-worker.ts runs only as a worker thread');
const port = parentPort;

const jobs = new Map<string, WorkerJob>();
const states = new Map<number, LevelState>();

function job(jobKey: string): WorkerJob {
  const j = jobs.get(jobKey);
  if (!j) throw new Error(`job ${jobKey} is not installed in this worker`);
  return j;
}

port.on('message', (msg: ToWorker) => {
  const id = 'id' in msg ? msg.id : -1;
  try {
    switch (msg.type) {
      case 'job':
        jobs.set(msg.jobKey, msg.job);
        break;
      case 'forget':
        jobs.delete(msg.jobKey);
        break;
      case 'state':
        states.set(msg.stateId, msg.state);
        break;
      case 'dropState':
        states.delete(msg.stateId);
        break;
      case 'peel':
        joinPeel(msg.job);
        break;
      case 'prepare': {
        const t0 = performance.now();
        const prepared = prepare(msg.image, msg.hole, msg.donor, msg.options, { shared: true });
        const reply: FromWorker = { type: 'prepared', id, prepared, ms: performance.now() - t0 };
        port.postMessage(reply);
        break;
      }
      case 'tile': {
        const j = job(msg.jobKey);
        const state = states.get(msg.stateId);
        if (!state) throw new Error(`state ${msg.stateId} is not installed in this worker`);
        const t0 = performance.now();
        const result = runTile(j.levels[msg.level], state, j.options, msg.tile, msg.mode);
        const reply: FromWorker = { type: 'tile', id, result, ms: performance.now() - t0 };
        port.postMessage(reply, [result.values.buffer, result.nnf.buffer, result.dist.buffer] as ArrayBuffer[]);
        break;
      }
      case 'levels': {
        const j = job(msg.jobKey);
        let s = j.levels[msg.state.level];
        let state = msg.state;
        for (;;) {
          const t0 = performance.now();
          const results: TileResult[] = [];
          const tileMs: Record<number, number> = {};
          let changed = 0;
          for (let k = 0; k < s.tiles.length >> 2; k++) {
            const a = performance.now();
            const r = runTile(s, state, j.options, k, 'iterate');
            tileMs[k] = Math.round((performance.now() - a) * 100) / 100;
            changed += r.changed;
            results.push(r);
          }
          const header = encodeHeader(state);
          const next = assemble(s, state, results, j.options);
          const done = converged(s, next, j.options);
          const step: StepEvent = { level: s.level, iteration: state.iteration, header, results, tileMs, changed, converged: done, ms: performance.now() - t0 };
          const transfer = results.flatMap((r) => [r.values.buffer, r.nnf.buffer, r.dist.buffer]) as ArrayBuffer[];
          port.postMessage({ type: 'step', id, step } satisfies FromWorker, [header.buffer as ArrayBuffer, ...transfer]);
          // The caller gave up: stop between steps (the main thread sets the shared flag).
          if (Atomics.load(msg.stop, 0) !== 0) throw new Error('cancelled by the caller');
          if (!done) {
            state = next;
            continue;
          }
          if (s.level === msg.through) break;
          const coarse = s;
          s = j.levels[s.level - 1];
          state = initFromCoarser(s, coarse, next, j.options);
        }
        port.postMessage({ type: 'levels', id } satisfies FromWorker);
        break;
      }
      case 'preview': {
        const j = job(msg.jobKey);
        const t0 = performance.now();
        const image = preview(j.image, j.levels[0], j.levels[msg.level], msg.values);
        const reply: FromWorker = { type: 'preview', id, image, ms: performance.now() - t0 };
        port.postMessage(reply, [image.data.buffer] as ArrayBuffer[]);
        break;
      }
    }
  } catch (e) {
    const reply: FromWorker = {
      type: 'error',
      id,
      message: e instanceof Error ? e.message : String(e),
      ...(isKernelError(e) ? { code: e.code } : {}),
    };
    port.postMessage(reply);
  }
});

const ready: FromWorker = { type: 'ready' };
port.postMessage(ready);
