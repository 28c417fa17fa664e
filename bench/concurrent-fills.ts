// Diagnostic: does the machine itself charge more CPU per fill when two processes fill at once?
// Two child processes (this file with --child) each hold the 1024x768 t009 fill's inputs and run
// an in-process 1-worker fill on request. Rounds alternate: "solo" (one child fills, the other
// idles) and "pair" (both fill the same image at the same time, each with its own copy of the
// level data, as two kernel nodes do), with fresh seeds. Prints each fill's CPU (the child's
// process.cpuUsage) and wall time, the machine's busy/steal ms from /proc/stat, and the median
// CPU per fill solo vs pair. Same code and data, only concurrency differs: a rise in the pair
// rounds is the machine (shared caches / memory bandwidth / hypervisor), not the cluster's code.
// Also --workers N for the children's fills (default 1) and --in2 (also time, in this process, a
// 2-worker fill per round: two threads on one shared copy). Run under the machine lock:
//   flock /tmp/pw-machine.lock node --import ./node_modules/tsx/dist/loader.mjs bench/concurrent-fills.ts --rounds 4
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImage, encodeImage, inpaint } from '../src/kernel/index.ts';

const self = fileURLToPath(import.meta.url);
const root = resolve(self, '../..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const workers = Number(arg('--workers') ?? 1);

async function inputs(): Promise<{ image: Buffer; mask: Buffer }> {
  const images = resolve(process.env.PATCHWORK_SHARED ?? resolve(root, '../shared'), 'images');
  if (!existsSync(images)) throw new Error(`shared images not found at ${images}`);
  const scaled = (p: string, nearest: boolean): Promise<Buffer> =>
    sharp(resolve(images, p)).resize(1024, 768, { fit: 'fill', kernel: nearest ? 'nearest' : 'lanczos3' }).png().toBuffer();
  return { image: await scaled('t009.jpg', false), mask: await scaled('m009.png', true) };
}

async function fill(image: Buffer, mask: Buffer, seed: number, w: number): Promise<{ cpu: number; ms: number }> {
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await encodeImage(await inpaint(await decodeImage(image, 'image'), await decodeImage(mask, 'mask'), { seed, workers: w }), 'png');
  const u = process.cpuUsage(u0);
  return { cpu: (u.user + u.system) / 1000, ms: performance.now() - t0 };
}

/** Machine-wide busy and steal ms so far (/proc/stat, all CPUs). */
function machine(): { busy: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return { busy: ((user + nice + system + irq + softirq) * 1000) / 100, steal: (steal * 1000) / 100 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

if (process.argv.includes('--child')) {
  const { image, mask } = await inputs();
  await fill(image, mask, 999, workers);
  process.on('message', (m: { seed: number }) => {
    void fill(image, mask, m.seed, workers).then((r) => process.send!(r));
  });
  process.send!({ ready: true });
} else {
  const rounds = Number(arg('--rounds') ?? 4);
  const spawnChild = (): Promise<ChildProcess> =>
    new Promise((ok) => {
      const c = fork(self, ['--child', '--workers', String(workers)], { execArgv: ['--import', `file://${root}/node_modules/tsx/dist/loader.mjs`] });
      c.once('message', () => ok(c));
    });
  const ask = (c: ChildProcess, seed: number): Promise<{ cpu: number; ms: number }> =>
    new Promise((ok) => {
      c.once('message', (r) => ok(r as { cpu: number; ms: number }));
      c.send({ seed });
    });
  const children = [await spawnChild(), await spawnChild()];
  const { image, mask } = await inputs();
  if (process.argv.includes('--in2')) await fill(image, mask, 998, 2);
  const solo: number[] = [];
  const pair: number[] = [];
  const in2: number[] = [];
  let seed = 1;
  console.log(`children fill with ${workers} worker(s); load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? ['pair', 'solo'] : ['solo', 'pair']) {
      const m0 = machine();
      const results = mode === 'solo' ? [await ask(children[r % 2], seed++)] : await Promise.all(children.map((c) => ask(c, seed++)));
      const m1 = machine();
      (mode === 'solo' ? solo : pair).push(...results.map((x) => x.cpu));
      console.log(
        `${mode}  ${results.map((x) => `CPU ${x.cpu.toFixed(0)} wall ${x.ms.toFixed(0)}`).join(' | ')}  machine busy ${(m1.busy - m0.busy).toFixed(0)} steal ${(m1.steal - m0.steal).toFixed(0)}`,
      );
    }
    if (process.argv.includes('--in2')) {
      const x = await fill(image, mask, seed++, 2);
      in2.push(x.cpu);
      console.log(`in2   CPU ${x.cpu.toFixed(0)} wall ${x.ms.toFixed(0)} (this process, 2 workers)`);
    }
  }
  console.log(
    `median CPU per fill: solo ${median(solo).toFixed(0)} ms, pair ${median(pair).toFixed(0)} ms (${(median(pair) / median(solo)).toFixed(3)}x)` +
      (in2.length ? `, 2 workers in one process ${median(in2).toFixed(0)} ms` : '') +
      `; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
  );
  for (const c of children) c.kill();
}
