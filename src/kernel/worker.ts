// A tile-running worker thread. It caches the static data of the level it was last given (big
// arrays arrive on SharedArrayBuffers, so they are shared, not copied); on each run it claims
// tiles from the run's shared counter until none is left, writing results into the shared
// next-state buffers, then reports how many it ran.
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { knownLab } from './color.ts';
import { runOffsetTask } from './offsets.ts';
import { joinPeel } from './peel.ts';
import { runTile } from './tile-step.ts';
import type { LevelStatic, PlanOptions } from './types.ts';
import type { ToWorker, FromWorker } from './pool-protocol.ts';

if (!parentPort) throw new Error('worker.ts runs only as a worker thread');
const port = parentPort;

let level: { key: string; s: LevelStatic; options: PlanOptions } | null = null;

/**
 * After a run (or a shared peel), the next run usually follows within a millisecond: the calling
 * thread assembles the state, or sets up the top level, and posts it. So the worker polls its port
 * for the message's `pollMs` (pool.ts, handOff) before going back to the event loop to
 * sleep. A sleeping thread has to be woken, and on a busy machine the scheduler often runs the
 * woken thread on the waker's core, where the calling thread then waits for it: postMessage calls
 * blocking 2-10 ms were measured at load 5-6 (docs/architecture.md, Threads). It stops at once
 * on 'forget' (the fill is over), so a pool left idle does not spin.
 */
function pollPort(pollMs: number): void {
  let until = performance.now() + pollMs;
  while (performance.now() < until) {
    const next = receiveMessageOnPort(port);
    if (!next) continue;
    const msg = next.message as ToWorker;
    handle(msg);
    // A level's data is followed by its first run, so the poll goes on after it; a run restarts it.
    if (msg.type === 'forget') return;
    if (msg.type === 'run') until = performance.now() + msg.pollMs;
  }
}

port.on('message', (msg: ToWorker) => {
  handle(msg);
  if (msg.type === 'run' || msg.type === 'peel') pollPort(msg.pollMs);
});

function handle(msg: ToWorker): void {
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
}

const ready: FromWorker = { type: 'ready' };
port.postMessage(ready);
