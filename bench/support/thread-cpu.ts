// Per-thread CPU of processes, read from /proc/<pid>/task/<tid>/stat (Linux; user + system,
// 10 ms ticks), for benchmarks that want to say which thread of which process spent a run's CPU:
// a process's main thread (tid = pid), its busiest other thread (in a 1-worker kernel node: the
// kernel worker thread) and the rest (V8 GC / compiler threads, libuv, libvips). Node names all
// its threads "node", so the busiest thread over the whole run stands for the worker.
import { readFileSync, readdirSync } from 'node:fs';

export type ThreadTicks = Map<number, number>;

/** CPU ms per thread of `pid` so far (threads that exited are gone from the map). */
export function threadCpuMs(pid: number): ThreadTicks {
  const out: ThreadTicks = new Map();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    } catch {
      // the thread exited between readdir and read
    }
  }
  return out;
}

export interface ThreadSplit {
  main: number;
  busiest: number;
  rest: number;
}

/** CPU between two snapshots of one process, split into main / busiest other thread / rest. */
export function splitDelta(pid: number, before: ThreadTicks, after: ThreadTicks): ThreadSplit {
  let busiestTid = -1;
  for (const [tid, ms] of after) if (tid !== pid && (busiestTid < 0 || ms > after.get(busiestTid)!)) busiestTid = tid;
  const split: ThreadSplit = { main: 0, busiest: 0, rest: 0 };
  for (const [tid, ms] of after) {
    const d = ms - (before.get(tid) ?? 0);
    if (tid === pid) split.main += d;
    else if (tid === busiestTid) split.busiest += d;
    else split.rest += d;
  }
  return split;
}
