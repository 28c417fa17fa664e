// Diagnostic (not a benchmark with goals): where a kernel-node cluster's CPU goes, fill by fill.
// Spawns nats-server and two `patchwork kernel --workers 1` nodes as bench/cluster.ts does, then
// runs a given sequence of steps and prints, for every fill, wall time and CPU by process and
// thread (node main thread / kernel worker thread / the rest: V8 GC and compiler threads, libuv,
// libvips; nats-server; this client process). Steps (--seq, comma separated):
//   two | one      a 1024x768 fill (t009, hole 10.4%) over 2 nodes / 1 node, fresh seed each
//   in1 | in2      the same fill in this process with 1 / 2 workers
//   idleN          sleep N seconds (nodes idle, as they are between jobs)
// --seed N runs every fill with seed N (the same kernel work each time; job ids stay unique).
// Options: --node-flags "..." (flags for the node processes, e.g. "--no-flush-bytecode"),
// --env K=V,K=V (environment of the nodes); --ab "flags" / --ab-env K=V: a second pair of nodes
// (own namespace and store, same nats-server) with these flags / environment instead; every fill
// step then runs on both pairs with the same seed, in alternating order, and the end prints the
// medians and the median paired difference (variant - base) per step kind. --remote JSON /
// --ab-remote JSON: extra inpaintRemote options for the fills (both pairs / the second pair), e.g.
// --ab-remote '{"storeSteps":"every"}' (a second pair of nodes is started for it). Run under the lock:
//   flock /tmp/pw-machine.lock node --import ./node_modules/tsx/dist/loader.mjs bench/cluster-threads.ts --seq two,two,idle10,two
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import sharp from 'sharp';
import { BlobStore } from '../src/common/blob-store.ts';
import { connectNats } from '../src/common/nats.ts';
import { KernelCluster, inpaintRemote, optionsToWire } from '../src/kernel/client/index.ts';
import { decodeImage, encodeImage, inpaint } from '../src/kernel/index.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { spawnKernelNode, type KernelNodeProcess } from '../test/support/kernel-node.ts';
import { splitDelta, threadCpuMs } from './support/thread-cpu.ts';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const seq = (arg('--seq') ?? 'two,two,two').split(',');
const nodeFlags = (arg('--node-flags') ?? '').split(' ').filter(Boolean);
const envOf = (text: string | undefined): Record<string, string> => Object.fromEntries((text ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const env = envOf(arg('--env'));
const abFlags = arg('--ab');
// --seed N: every fill with this seed (identical kernel work; job ids stay unique).
const fixedSeed = arg('--seed') === undefined ? undefined : Number(arg('--seed'));
let jobNo = 0;
const abEnv = arg('--ab-env');
const remoteOpts = JSON.parse(arg('--remote') ?? '{}') as Record<string, unknown>;
const abRemote = arg('--ab-remote');
const ab = abFlags !== undefined || abEnv !== undefined || abRemote !== undefined;

const images = resolve(process.env.PATCHWORK_SHARED ?? resolve(root, '../shared'), 'images');
if (!existsSync(images)) throw new Error(`shared images not found at ${images}`);
const scaled = (p: string, nearest: boolean): Promise<Buffer> =>
  sharp(resolve(images, p)).resize(1024, 768, { fit: 'fill', kernel: nearest ? 'nearest' : 'lanczos3' }).png().toBuffer();
const cpuMsOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
/** Machine-wide busy ms so far (/proc/stat: user + nice + system + irq + softirq, all CPUs). */
const machineBusyMs = (): number => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return ((f[0] + f[1] + f[2] + f[5] + f[6]) * 1000) / 100;
};
/** System (kernel) CPU ms of a process so far. */
const sysMsOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 1000) / 100;
};
const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const imageBytes = await scaled('t009.jpg', false);
const maskBytes = await scaled('m009.png', true);
const nats = await startNatsServer();
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Pair {
  name: string;
  flags: string[];
  nodes: KernelNodeProcess[];
  cluster?: KernelCluster;
  image?: string;
  mask?: string;
  logSeen: number[];
  totals: Map<string, number[]>;
  walls: Map<string, number[]>;
  remote: Record<string, unknown>;
}
const pairs: Pair[] = [{ name: 'base', flags: nodeFlags, nodes: [], logSeen: [0, 0], totals: new Map(), walls: new Map(), remote: remoteOpts }];
if (ab) {
  const remote = { ...remoteOpts, ...(JSON.parse(abRemote ?? '{}') as Record<string, unknown>) };
  pairs.push({ name: 'var', flags: abFlags === undefined ? nodeFlags : abFlags.split(' ').filter(Boolean), nodes: [], logSeen: [0, 0], totals: new Map(), walls: new Map(), remote });
}
const nc = await connectNats({ servers: nats.url });
try {
  for (const p of pairs) {
    const penv = p.name === 'var' && abEnv !== undefined ? envOf(abEnv) : env;
    for (const id of ['a', 'b']) p.nodes.push(await spawnKernelNode({ natsUrl: nats.url, namespace: p.name, id: `${p.name}-${id}`, workers: 1, heartbeatMs: 1000, nodeFlags: p.flags, env: penv }));
    const store = await BlobStore.open(nc, { bucket: `${p.name}_blobs` });
    p.image = (await store.put(imageBytes)).id;
    p.mask = (await store.put(maskBytes)).id;
    p.cluster = await KernelCluster.connect({ nc, namespace: p.name, log: pino({ level: 'warn' }) });
    await p.cluster.nodes.waitFor((ns) => ns.length === 2, 10_000);
    console.log(`${p.name}: node flags ${p.flags.join(' ') || '(none)'}; env ${JSON.stringify(p.name === 'var' && abEnv !== undefined ? envOf(abEnv) : env)}`);
  }
  console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  // With --trace-gc in the flags: GC pauses per fill from the nodes' output, by isolate (the main
  // thread's and the worker's heaps), as count / ms.
  const gcOf = (p: Pair, i: number): string => {
    const byIsolate = new Map<string, { scavenges: number; scavengeMs: number; majors: number; majorMs: number }>();
    const n = p.nodes[i];
    for (const line of n.log.slice(p.logSeen[i])) {
      const m = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)[^,]*, ([\d.]+) \/ ([\d.]+) ms/.exec(line);
      if (!m) continue;
      const g = byIsolate.get(m[1]) ?? { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0 };
      if (m[2] === 'Scavenge') {
        g.scavenges++;
        g.scavengeMs += Number(m[3]);
      } else {
        g.majors++;
        g.majorMs += Number(m[3]);
      }
      byIsolate.set(m[1], g);
    }
    p.logSeen[i] = n.log.length;
    return [...byIsolate.values()].map((g) => `${g.scavenges} scav ${g.scavengeMs.toFixed(0)} ms + ${g.majors} major ${g.majorMs.toFixed(0)} ms`).join('; ');
  };
  // With --trace-opt --trace-deopt in the flags: TurboFan compiles (count, ms) and deopts (count,
  // the most frequent function: reason) per node and fill, from the nodes' output.
  const jitSeen = pairs.map(() => [0, 0]);
  const jitOf = (p: Pair, pi: number, i: number): string => {
    let compiles = 0;
    let compileMs = 0;
    const deopts = new Map<string, number>();
    for (const line of p.nodes[i].log.slice(jitSeen[pi][i])) {
      const c = /^\[completed compiling .*<JSFunction (\S*).* took ([\d.]+), ([\d.]+), ([\d.]+) ms/.exec(line);
      if (c) {
        compiles++;
        compileMs += Number(c[2]) + Number(c[3]) + Number(c[4]);
      }
      const d = /^\[bailout \(kind: ([^,]+), reason: ([^)]+)\).*deoptimizing \S+ <JSFunction (\S*)/.exec(line);
      if (d) deopts.set(`${d[3]} (${d[1]}: ${d[2]})`, (deopts.get(`${d[3]} (${d[1]}: ${d[2]})`) ?? 0) + 1);
    }
    jitSeen[pi][i] = p.nodes[i].log.length;
    const top = [...deopts].sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, n]) => `${n}x ${k}`).join(', ');
    return `${compiles} compiles ${compileMs.toFixed(0)} ms, ${[...deopts.values()].reduce((a, b) => a + b, 0)} deopts${top ? `: ${top}` : ''}`;
  };
  const traceJit = (p: Pair): boolean => p.flags.includes('--trace-opt') || p.flags.includes('--trace-deopt');
  for (const p of pairs) p.nodes.forEach((_, i) => gcOf(p, i));
  pairs.forEach((p, pi) => traceJit(p) && p.nodes.forEach((_, i) => jitOf(p, pi, i)));
  let seed = 100;
  let turn = 0;
  const f = (x: number): string => x.toFixed(0);
  for (const step of seq) {
    if (step.startsWith('idle')) {
      await sleep(Number(step.slice(4)) * 1000);
      continue;
    }
    seed = fixedSeed ?? seed + 1;
    const order = pairs.length === 2 && turn++ % 2 ? [pairs[1], pairs[0]] : pairs;
    for (const p of order) {
      const pids = p.nodes.map((n) => n.child.pid!);
      const before = pids.map(threadCpuMs);
      const sys0 = pids.map(sysMsOf);
      const n0 = cpuMsOf(nats.pid!);
      const c0 = selfCpuMs();
      const m0 = machineBusyMs();
      const t0 = performance.now();
      if (step === 'in1' || step === 'in2') {
        const img = await decodeImage(imageBytes, 'image');
        const msk = await decodeImage(maskBytes, 'mask');
        await encodeImage(await inpaint(img, msk, { seed, workers: step === 'in1' ? 1 : 2 }), 'png');
      } else {
        await inpaintRemote(p.cluster!, { jobId: `diag-${seed}-${jobNo++}`, imageBlobId: p.image!, maskBlobId: p.mask!, donorBlobIds: [], options: optionsToWire({ seed }) }, { maxNodes: step === 'one' ? 1 : 2, ...p.remote });
      }
      const ms = performance.now() - t0;
      const after = pids.map(threadCpuMs);
      const sys = pids.map((pid, i) => sysMsOf(pid) - sys0[i]);
      const [a, b] = pids.map((pid, i) => splitDelta(pid, before[i], after[i]));
      const natsMs = cpuMsOf(nats.pid!) - n0;
      const client = selfCpuMs() - c0;
      const total = a.main + a.busiest + a.rest + b.main + b.busiest + b.rest + natsMs + client;
      // CPU the rest of the machine (other users' processes) spent during this fill.
      const others = machineBusyMs() - m0 - total;
      if (!p.totals.has(step)) p.totals.set(step, []);
      p.totals.get(step)!.push(total);
      if (!p.walls.has(step)) p.walls.set(step, []);
      p.walls.get(step)!.push(ms);
      if (traceJit(p)) p.nodes.forEach((n, i) => console.log(`     JIT ${n.id}: ${jitOf(p, pairs.indexOf(p), i)}`));
      if (p.flags.includes('--trace-gc')) p.nodes.forEach((n, i) => console.log(`     GC ${n.id}: ${gcOf(p, i)}`));
      console.log(
        `${p.name.padEnd(4)} ${step.padEnd(4)} seed ${seed}  wall ${f(ms).padStart(5)}  CPU ${f(total).padStart(5)} = a ${f(a.main)}/${f(a.busiest)}/${f(a.rest)}  b ${f(b.main)}/${f(b.busiest)}/${f(b.rest)} (main/worker/rest)  nats ${f(natsMs)}  client ${f(client)}  others ${f(others)}  (sys a ${f(sys[0])} b ${f(sys[1])})`,
      );
      // --threads: every thread of each node that used >= 10 ms, as tid - pid : ms.
      if (process.argv.includes('--threads') && step !== 'in1' && step !== 'in2') {
        pids.forEach((pid, i) => {
          const list = [...after[i]].map(([tid, ms2]) => [tid - pid, ms2 - (before[i].get(tid) ?? 0)]).filter(([, d]) => d >= 10);
          console.log(`     ${p.nodes[i].id} threads (tid-pid:ms): ${list.map(([t, d]) => `${t}:${d}`).join(' ')}`);
        });
      }
      if (step === 'in1' || step === 'in2') break;
    }
  }
  for (const [step, base] of pairs[0].totals) {
    if (step === 'in1' || step === 'in2') {
      console.log(`${step}: median CPU ${f(median(base))} ms (n=${base.length})`);
      continue;
    }
    const v = pairs[1]?.totals.get(step);
    console.log(`${step}: base median CPU ${f(median(base))} ms` + (v ? `, var ${f(median(v))} ms, paired var - base median ${f(median(v.map((x, i) => x - base[i])))} ms (n=${v.length})` : ` (n=${base.length})`));
    const bw = pairs[0].walls.get(step)!;
    const vw = pairs[1]?.walls.get(step);
    console.log(`${step}: base median wall ${f(median(bw))} ms` + (vw ? `, var ${f(median(vw))} ms, paired var - base median ${f(median(vw.map((x, i) => x - bw[i])))} ms` : ''));
  }
  console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  // --dump-logs DIR: every node's output (e.g. the V8 traces) to DIR/<node id>.log.
  const dumpDir = arg('--dump-logs');
  if (dumpDir) for (const p of pairs) for (const n of p.nodes) writeFileSync(resolve(dumpDir, `${n.id}.log`), n.log.join('\n'));
} finally {
  for (const p of pairs) {
    await p.cluster?.close();
    for (const n of p.nodes) await n.kill('SIGTERM');
  }
  await nc.close();
  await nats.dispose();
}
