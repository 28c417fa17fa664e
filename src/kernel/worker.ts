// A tile-running worker thread. It caches the static data of the level it was last given (big
// arrays arrive on SharedArrayBuffers, so they are shared, not copied) and the current state,
// then runs the tiles it is sent and posts each result back, transferring its buffers.
import { parentPort } from 'node:worker_threads';
import { runTile } from './tile-step.ts';
import type { LevelState, LevelStatic, PlanOptions, StateBuffers } from './types.ts';
import type { ToWorker, FromWorker } from './pool-protocol.ts';

if (!parentPort) throw new Error('worker.ts runs only as a worker thread');
const port = parentPort;

let level: { key: string; s: LevelStatic; options: PlanOptions } | null = null;
let state: LevelState | null = null;
let into: StateBuffers | undefined;

port.on('message', (msg: ToWorker) => {
  try {
    if (msg.type === 'level') {
      level = { key: msg.key, s: msg.s, options: msg.options };
      state = null;
    } else if (msg.type === 'state') {
      state = msg.state;
      into = msg.into;
    } else if (msg.type === 'tile') {
      if (!level || level.key !== msg.key || !state) throw new Error(`tile for ${msg.key} before its level or state`);
      const result = runTile(level.s, state, level.options, msg.tile, msg.mode, into);
      const reply: FromWorker = { type: 'result', key: msg.key, result };
      // Arrays of its own are handed over; views of the shared `into` travel as views (no copy).
      const transfer = [result.values.buffer, result.nnf.buffer, result.dist.buffer].filter((b): b is ArrayBuffer => !(b instanceof SharedArrayBuffer));
      port.postMessage(reply, transfer);
    }
  } catch (e) {
    const reply: FromWorker = { type: 'error', message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) };
    port.postMessage(reply);
  }
});

const ready: FromWorker = { type: 'ready' };
port.postMessage(ready);
