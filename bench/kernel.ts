// Kernel speed and memory: every shared case on one thread and on all cores, plus a 2048x1536
// image with a 10% hole for peak RSS. Each run happens in a child process (so its peak RSS is
// its own); a child warms up once (a cold start: its peak RSS is the one reported), then times
// `--repeat` runs of inpaint() and reports the median and the spread (min-max). The one-thread
// child also measures the serial fraction (Amdahl): the share of a run spent outside tile steps,
// and the speed-up two threads could reach at best with it. Prints a table, then one JSON line.
// Other processes on the machine skew the two-thread figures most: the load average is printed,
// and next to each case the machine's parallel capacity measured just before its runs (two
// busy-looping threads against one: 2.00 when a whole second core is free, 1.00 when none is);
// a speed-up can only be read against it (efficiency = speed-up / capacity). A third child times
// 1-thread and all-core runs in turn and reports the median speed-up of those pairs (load that
// drifts between the two children hits both sides of a pair alike). Compare runs, not one run.
// With --breakdown, instead: per case, one process times 1-thread and all-core runs in turn and
// prints the median milliseconds of each phase of a fill (src/kernel/fill-clock.ts) for both.
//   npm run bench:kernel [-- --repeat 3] [--case t009] [--no-large] [--breakdown]
// Goals (issue 2): one thread at most half of PyPatchMatch's time (1.9, 2.6, 2.2, 1.7, 4.3 s on
// a machine like this one), all cores >= 1.7x faster than one, peak RSS <= 300 MB on the large case.
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImage, inpaint, maskToBinary, type RgbaImage } from '../src/kernel/index.ts';
import { countSet } from '../src/kernel/mask.ts';
import { fillClock, levelClock, resetFillClock, type FillClock } from '../src/kernel/fill-clock.ts';
import { tileClock } from '../src/kernel/pool.ts';
import { CASES, repoRoot, sharedDir } from './support/shared.ts';

const PYPATCHMATCH_MS: Record<string, number> = { t009: 1900, t020: 2600, t023: 2200, t058: 1700, t067: 4300 };
const LARGE = { name: 'large', width: 2048, height: 1536 };

interface ChildReport {
  ms: number[];
  /** Per timed run: milliseconds inside tile steps on the calling thread, of levels big enough for workers. */
  tileMs: number[];
  maxRssMb: number;
  holePixels: number;
}

async function loadCase(name: string): Promise<{ image: RgbaImage; mask: RgbaImage }> {
  const shared = sharedDir();
  if (name === LARGE.name) {
    // t009 and its mask scaled up: a real photo's texture, a hole of about 10%.
    const c = CASES[0];
    const resize = async (file: string, kernel: 'lanczos3' | 'nearest'): Promise<RgbaImage> => {
      const { data, info } = await sharp(join(shared, 'images', file)).resize(LARGE.width, LARGE.height, { fit: 'fill', kernel }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    };
    return { image: await resize(c.image, 'lanczos3'), mask: await resize(c.mask, 'nearest') };
  }
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no case ${name}`);
  return { image: await decodeImage(join(shared, 'images', c.image)), mask: await decodeImage(join(shared, 'images', c.mask), 'mask') };
}

async function child(name: string, workers: number, repeat: number): Promise<void> {
  const { image, mask } = await loadCase(name);
  const holePixels = countSet(maskToBinary(mask, image.width, image.height));
  const ms: number[] = [];
  const tileMs: number[] = [];
  let maxRssMb = 0;
  for (let i = 0; i <= repeat; i++) {
    tileClock.ms = 0;
    tileClock.smallMs = 0;
    const t0 = performance.now();
    await inpaint(image, mask, { workers });
    if (i > 0 || repeat === 0) {
      // Run 0 warms up the JIT, tsx's cache and the worker pool.
      ms.push(performance.now() - t0);
      tileMs.push(tileClock.ms - tileClock.smallMs);
    }
    // Peak RSS of one fill, from process start (decoding included) to the end of the first run.
    if (i === 0) maxRssMb = process.resourceUsage().maxRSS / 1024;
  }
  const report: ChildReport = { ms, tileMs, maxRssMb, holePixels };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/**
 * Paired runs in one process: after a warm-up of each, `repeat` times one run on 1 thread then one
 * on `workers`; the speed-up of each pair, so load that drifts over the bench hits both sides of a
 * ratio alike.
 */
async function pairedChild(name: string, workers: number, repeat: number): Promise<void> {
  const { image, mask } = await loadCase(name);
  const time = async (w: number): Promise<number> => {
    const t0 = performance.now();
    await inpaint(image, mask, { workers: w });
    return performance.now() - t0;
  };
  await time(1);
  await time(workers);
  const ratios: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const one = await time(1);
    ratios.push(one / (await time(workers)));
  }
  process.stdout.write(`${JSON.stringify({ ratios })}\n`);
}

/** Median phase times (fill-clock.ts) of `repeat` fills on 1 thread and on `workers`, taken in turn. */
async function breakdownChild(name: string, workers: number, repeat: number): Promise<void> {
  const { image, mask } = await loadCase(name);
  const clocks = new Map<number, FillClock[]>([[1, []], [workers, []]]);
  const levels = new Map<number, number[][]>([[1, []], [workers, []]]);
  const time = async (w: number, keep: boolean): Promise<void> => {
    resetFillClock();
    await inpaint(image, mask, { workers: w });
    if (keep) clocks.get(w)!.push({ ...fillClock });
    if (keep) levels.get(w)!.push([...levelClock]);
  };
  await time(1, false);
  await time(workers, false);
  for (let i = 0; i < repeat; i++) {
    await time(1, true);
    await time(workers, true);
  }
  const medians = (list: FillClock[]): Record<string, number> =>
    Object.fromEntries((Object.keys(fillClock) as (keyof FillClock)[]).map((k) => [k, +median(list.map((c) => c[k])).toFixed(1)]));
  const levelMedians = (list: number[][]): number[] => list[0].map((_, l) => +median(list.map((c) => c[l])).toFixed(1));
  process.stdout.write(`${JSON.stringify({ one: medians(clocks.get(1)!), all: medians(clocks.get(workers)!), levelsOne: levelMedians(levels.get(1)!), levelsAll: levelMedians(levels.get(workers)!) })}\n`);
}

function spawnChild(args: string[]): string {
  const self = fileURLToPath(import.meta.url);
  const res = spawnSync(process.execPath, [...process.execArgv, self, ...args], { encoding: 'utf8', cwd: repoRoot });
  if (res.status !== 0) throw new Error(`bench child ${args.join(' ')} failed: ${res.stderr}`);
  return res.stdout.trim().split('\n').pop()!;
}

function runChild(name: string, workers: number, repeat: number): ChildReport {
  return JSON.parse(spawnChild(['--child', name, String(workers), String(repeat)])) as ChildReport;
}

function runPaired(name: string, workers: number, repeat: number): number[] {
  return (JSON.parse(spawnChild(['--paired', name, String(workers), String(repeat)])) as { ratios: number[] }).ratios;
}

/** Wall time of `threads` threads each spinning the same fixed loop at once. */
function spin(threads: number): Promise<number> {
  const code = `let x = 1; for (let i = 0; i < 6e7; i++) x = (x * 1103515245 + 12345) | 0; require('node:worker_threads').parentPort.postMessage(x);`;
  const t0 = performance.now();
  return Promise.all(
    Array.from({ length: threads }, () => new Promise<void>((resolve, reject) => {
      const w = new Worker(code, { eval: true, execArgv: [] });
      w.once('message', () => void w.terminate().then(() => resolve()));
      w.once('error', reject);
    })),
  ).then(() => performance.now() - t0);
}

/** How many threads' worth of CPU `cores` busy threads get now: cores x t(1 thread) / t(cores threads). */
async function parallelCapacity(cores: number): Promise<number> {
  const one = await spin(1);
  const all = await spin(cores);
  return (cores * one) / all;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];
const spread = (a: number[]): string => `${Math.round(Math.min(...a))}-${Math.round(Math.max(...a))}`;
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function breakdown(names: string[], cores: number, repeat: number): Promise<void> {
  const loadBefore = load();
  console.log(`kernel bench, phases: median ms of ${repeat} fills per thread count, 1 and ${cores} threads taken in turn in one process; load average ${loadBefore}`);
  const phases = Object.keys(fillClock) as (keyof FillClock)[];
  console.log(`case    threads  ${phases.map((p) => p.padStart(10)).join('')}`);
  const rows = [];
  for (const name of names) {
    const r = JSON.parse(spawnChild(['--breakdown-child', name, String(cores), String(repeat)])) as { one: Record<string, number>; all: Record<string, number>; levelsOne: number[]; levelsAll: number[] };
    rows.push({ case: name, ...r });
    console.log(`${name.padEnd(8)}${'1'.padStart(7)}  ${phases.map((p) => String(r.one[p]).padStart(10)).join('')}   levels 0..: ${r.levelsOne.join(' ')}`);
    console.log(`${''.padEnd(8)}${String(cores).padStart(7)}  ${phases.map((p) => String(r.all[p]).padStart(10)).join('')}   levels 0..: ${r.levelsAll.join(' ')}`);
  }
  const loadAfter = load();
  console.log(`load average before ${loadBefore}, after ${loadAfter} (1 thread: prepare includes offsets; all: offsets is the wait for them after the peel)`);
  console.log(JSON.stringify({ bench: 'kernel-breakdown', cores, repeat, loadBefore, loadAfter, rows }));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], Number(args[2]), Number(args[3]));
  if (args[0] === '--paired') return pairedChild(args[1], Number(args[2]), Number(args[3]));
  if (args[0] === '--breakdown-child') return breakdownChild(args[1], Number(args[2]), Number(args[3]));
  const flag = (n: string): string | undefined => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
  const repeat = Number(flag('--repeat') ?? 3);
  const cores = availableParallelism();
  const names = [...CASES.map((c) => c.name).filter((n) => !flag('--case') || n === flag('--case')), ...(args.includes('--no-large') ? [] : [LARGE.name])];
  if (args.includes('--breakdown')) return breakdown(names, cores, repeat);
  const rows = [];
  const loadBefore = load();
  console.log(`kernel bench: median of ${repeat} runs after a warm-up, one child process per row; ${cores} cores; load average ${loadBefore}`);
  console.log('case    threads      ms      spread  speed-up  goal ms  ms/goal  hole MP/s  peak RSS MB  serial  Amdahl bound  capacity  efficiency  paired speed-up');
  for (const name of names) {
    const capBefore = await parallelCapacity(cores);
    const one = runChild(name, 1, repeat);
    const capBetween = await parallelCapacity(cores);
    const all = runChild(name, cores, repeat);
    const capAfter = await parallelCapacity(cores);
    const paired = runPaired(name, cores, repeat);
    const capacity = (capBefore + capBetween + capAfter) / 3;
    const ms1 = median(one.ms);
    const msN = median(all.ms);
    // Serial fraction: the share of a one-thread run outside tile steps of levels the pool spreads
    // (prepare, init, assemble, finish, driver, levels too small for workers); with it, n threads
    // can at best be 1 / (serial + (1 - serial) / n) faster.
    const serial = median(one.ms.map((m, i) => 1 - one.tileMs[i] / m));
    const bound = 1 / (serial + (1 - serial) / cores);
    const goal = PYPATCHMATCH_MS[name] ? PYPATCHMATCH_MS[name] / 2 : null;
    const row = {
      case: name,
      holePixels: one.holePixels,
      ms1: Math.round(ms1),
      msAll: Math.round(msN),
      threads: cores,
      speedup: +(ms1 / msN).toFixed(2),
      goalMs: goal,
      holeMpPerS1: +(one.holePixels / 1e6 / (ms1 / 1000)).toFixed(3),
      holeMpPerSAll: +(one.holePixels / 1e6 / (msN / 1000)).toFixed(3),
      rssMb1: Math.round(one.maxRssMb),
      rssMbAll: Math.round(all.maxRssMb),
      runs1: one.ms.map(Math.round),
      runsAll: all.ms.map(Math.round),
      serialFraction: +serial.toFixed(3),
      amdahlBound: +bound.toFixed(2),
      pairedSpeedups: paired.map((r) => +r.toFixed(2)),
      pairedSpeedup: +median(paired).toFixed(2),
      capacity: +capacity.toFixed(2),
      efficiency: +(ms1 / msN / capacity).toFixed(2),
    };
    rows.push(row);
    const g = goal ? `${String(goal).padStart(7)}  ${(ms1 / goal).toFixed(2).padStart(7)}` : `${'-'.padStart(7)}  ${'-'.padStart(7)}`;
    console.log(`${name.padEnd(8)}${'1'.padStart(7)}  ${String(row.ms1).padStart(6)}  ${spread(one.ms).padStart(10)}  ${'1.00'.padStart(8)}  ${g}  ${row.holeMpPerS1.toFixed(3).padStart(9)}  ${String(row.rssMb1).padStart(11)}  ${serial.toFixed(3).padStart(6)}  ${bound.toFixed(2).padStart(12)}`);
    console.log(`${''.padEnd(8)}${String(cores).padStart(7)}  ${String(row.msAll).padStart(6)}  ${spread(all.ms).padStart(10)}  ${row.speedup.toFixed(2).padStart(8)}  ${''.padStart(7)}  ${''.padStart(7)}  ${row.holeMpPerSAll.toFixed(3).padStart(9)}  ${String(row.rssMbAll).padStart(11)}  ${''.padStart(6)}  ${''.padStart(12)}  ${capacity.toFixed(2).padStart(8)}  ${row.efficiency.toFixed(2).padStart(10)}  ${row.pairedSpeedup.toFixed(2).padStart(15)}`);
  }
  const loadAfter = load();
  console.log(`load average before ${loadBefore}, after ${loadAfter}`);
  console.log(JSON.stringify({ bench: 'kernel', cores, repeat, loadBefore, loadAfter, rows }));
}

await main();
