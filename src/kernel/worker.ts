// A tile-running worker thread. It caches the static data of the level it was last given (big
// arrays arrive on SharedArrayBuffers, so they are shared, not copied); on each run it claims
// tiles from the run's shared counter until none is left, writing results into the shared
// next-state buffers, then reports how many it ran.
import { parentPort } from 'node:worker_threads';
import { knownLab } from './color.ts';
import { runOffsetTask } from './offsets.ts';
import { joinPeel } from './peel.ts';
import { runTile } from './tile-step.ts';
import type { LevelStatic, PlanOptions } from './types.ts';
import type { ToWorker, FromWorker } from './pool-protocol.ts';

if (!parentPort) throw new Error('worker.ts runs only as a worker thread');
const port = parentPort;

let level: { key: string; s: LevelStatic; options: PlanOptions } | null = null;

port.on('message', (msg: ToWorker) => {
  try {
    if (msg.type === 'level') {
      level = { key: msg.key, s: msg.s, options: msg.options };
    } else if (msg.type === 'forget') {
      level = null;
    } else if (msg.type === 'run') {
      if (!level || level.key !== msg.key) throw new Error(`run of ${msg.key} before its level`);
      const { order, counters, changed } = msg;
      const n = order.length;
      let tiles = 0;
      let completed = false;
      for (;;) {
        const c = Atomics.add(counters, 0, 1);
        if (c >= n) break;
        const k = order[c];
        changed[k] = runTile(level.s, msg.state, level.options, k, msg.mode, msg.into).changed;
        tiles++;
        if (Atomics.add(counters, 1, 1) + 1 === n) {
          completed = true;
          // The calling thread may be waiting on the counter itself (pool.ts, SYNC_WAIT_MS).
          Atomics.notify(counters, 1);
        }
      }
      const reply: FromWorker = { type: 'ran', job: msg.job, tiles, completed };
      port.postMessage(reply);
    } else if (msg.type === 'lab') {
      knownLab(msg.rgba, msg.hole, msg.from, msg.from, msg.to, msg.lab);
      const reply: FromWorker = { type: 'lab-done', job: msg.job };
      port.postMessage(reply);
    } else if (msg.type === 'peel') {
      const reply: FromWorker = { type: 'peeled', pixels: joinPeel(msg.job) };
      port.postMessage(reply);
    } else if (msg.type === 'offsets') {
      const offsets = runOffsetTask(msg.task);
      const reply: FromWorker = { type: 'offsets-done', job: msg.job, offsets };
      port.postMessage(reply, [offsets.buffer as ArrayBuffer]);
    }
  } catch (e) {
    const reply: FromWorker = { type: 'error', message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) };
    port.postMessage(reply);
  }
});

const ready: FromWorker = { type: 'ready' };
port.postMessage(ready);
