// npm run bench:cluster — a 1024x768 fill (t009 from the shared images, scaled; hole 10.4%)
// through kernel nodes and in-process, with the same worker counts:
//
//   in-process, 1 worker   decode + inpaint({ workers: 1 }) + PNG encode, from bytes in memory
//   in-process, 2 workers  the same with { workers: 2 }            <- the overhead baseline
//   cluster, 1 node        inpaintRemote over one `patchwork kernel --workers 1` process,
//                          from blob ids in the Object Store to the result PNG stored there
//   cluster, 2 nodes       the same over two such processes
//
// speedup_two_nodes = ms_one_node / ms_two_nodes; overhead_vs_in_process = ms_two_nodes /
// ms_in_process (2 workers in both). Each repetition runs all four with ONE seed (rep + 1), in a
// rotating order, so both speed-ups (1 node / 2 nodes and in-process 1 worker / 2 workers) and the
// overhead compare the same work: seeds differ in work by up to ~30%, so ratios across seeds say
// little. Runs of one seed make the same tile results, and nothing an earlier run of the seed left
// behind may flatter a later one, so before every cluster run:
//   - the blob bucket's stream is purged and the inputs stored again: every result batch is
//     written afresh (a blob already stored is not written again: that would flatter the run);
//   - the image is stored with a tEXt chunk naming the run (same pixels, other bytes): a new blob
//     id, so a new job key, so the nodes prepare the job again and find no assembled state, team
//     announcement or cached input of an earlier run;
//   - the 2-node run comes before the 1-node run of its seed: a node's blob cache still holds the
//     result batches of earlier runs (LRU, 256 MiB), and a pushed batch it already holds is not
//     hashed again (BlobCache.offer). A 1-node run receives no pushes and reads nothing but its own
//     results, so what the 2-node run leaves in the caches cannot help it; the other way round it
//     would spare the 2-node run part of its hashing.
// The figures are medians over repetitions, the spread is min..max of the per-repetition ratios.
// All four PNGs of a repetition must be byte-identical (the run fails otherwise).
// Options: --reps N (default 5); --min-shard-targets N, --solo-max-targets N, --chunks-per-node N
// (the remote driver's placement settings, for tuning); --no-team (client-driven steps instead
// of team runs), --run-targets N (team run budget); --team-steps (where the 2-node runs' team
// steps went, per node: own tiles, peer wait, read, assemble); PATCHWORK_SHARED (where images/
// is; default ../shared).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import sharp from 'sharp';
import { BlobStore, blobIdOf } from '../src/common/blob-store.ts';
import { connectNats } from '../src/common/nats.ts';
import { KernelCluster, REMOTE_FILL_DEFAULTS, inpaintRemote, optionsToWire, type JobSpec } from '../src/kernel/client/index.ts';
import { assemble, assembleValues, converged, decodeImage, encodeImage, finish, initFromCoarser, initTopLevel, inpaint, maskToBinary, prepare, resolveOptions, runTile, type LevelState } from '../src/kernel/index.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { spawnKernelNode, type KernelNodeProcess } from '../test/support/kernel-node.ts';
import { withPngText } from './support/png-text.ts';
import { splitDelta, threadCpuMs, type ThreadSplit } from './support/thread-cpu.ts';

const root = resolve(fileURLToPath(import.meta.url), '../..');
function numberArg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}
const reps = numberArg('--reps') ?? 5;
// Placement thresholds of the remote driver (defaults: REMOTE_FILL_DEFAULTS), for tuning.
const minShardTargets = numberArg('--min-shard-targets');
const soloMaxTargets = numberArg('--solo-max-targets');
const chunksPerNode = numberArg('--chunks-per-node');
// Diagnostics: extra flags for the node processes (e.g. --node-flags "--max-semi-space-size=32"),
// warm-up fills before the timed repetitions (default 1), --per-run: a CPU line per run (cluster
// runs by process and thread).
const nodeFlagsArg = process.argv.indexOf('--node-flags');
const nodeFlags = nodeFlagsArg > 0 ? process.argv[nodeFlagsArg + 1].split(' ').filter(Boolean) : [];
const warmups = numberArg('--warmups') ?? 1;
const perRun = process.argv.includes('--per-run');
// The driver's mode: team runs (default) or, with --no-team, client-driven steps; --run-targets N.
const teamRuns = !process.argv.includes('--no-team');
// --team-steps: the nodes log every team step (debug); prints, per node, where the timed 2-node
// runs' steps went (own tiles, waiting for the peer, reading its results, assembling).
const teamSteps = process.argv.includes('--team-steps');
const runTargets = numberArg('--run-targets');

function sharedImages(): string {
  const dir = resolve(process.env.PATCHWORK_SHARED ?? resolve(root, '../shared'), 'images');
  if (!existsSync(dir)) throw new Error(`shared images not found at ${dir}: set PATCHWORK_SHARED to the folder holding images/`);
  return dir;
}

async function scaled(path: string, nearest: boolean): Promise<Buffer> {
  return sharp(path).resize(1024, 768, { fit: 'fill', kernel: nearest ? 'nearest' : 'lanczos3' }).png().toBuffer();
}

interface Run {
  ms: number;
  /** CPU time the run used: this process (in-process runs); nodes, nats-server and this process (cluster runs). */
  cpuMs: number;
  /** Cluster runs: CPU ms by process and thread (node a, node b: main / worker / rest). */
  threads?: { a: ThreadSplit; b: ThreadSplit; nats: number; client: number };
  id: string;
  calls?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number, d = 0): string => x.toFixed(d);

type Variant = 'in1' | 'in2' | 'one' | 'two';

/** CPU time (user + system, all threads) of a process so far, in ms (10 ms resolution). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * One fill on one thread, timed by phase: how much of it can run on two cores at all (tiles of
 * the levels the cluster splits) and how much cannot (decode, prepare, the small top levels,
 * finish, encode). Amdahl's bound for two threads = serial + parallel / 2.
 */
async function serialShare(imageBytes: Buffer, maskBytes: Buffer, splitFromTargets: number): Promise<{ serial: number; parallel: number }> {
  let t = performance.now();
  let serial = 0;
  let parallel = 0;
  const lap = (isParallel: boolean): void => {
    const now = performance.now();
    if (isParallel) parallel += now - t;
    else serial += now - t;
    t = now;
  };
  const image = await decodeImage(imageBytes, 'image');
  const mask = await decodeImage(maskBytes, 'mask');
  const options = resolveOptions({}).plan;
  const { levels } = prepare(image, maskToBinary(mask, image.width, image.height), null, options);
  lap(false);
  let state: LevelState | null = null;
  for (let l = levels.length - 1; l >= 0; l--) {
    const s = levels[l];
    const split = s.targetPixels.length >= splitFromTargets;
    state = state === null ? initTopLevel(s, options) : initFromCoarser(s, levels[l + 1], state, options);
    lap(false);
    while (!converged(s, state, options)) {
      const results = Array.from({ length: s.tiles.length >> 2 }, (_, k) => runTile(s, state!, options, k, 'iterate'));
      lap(split);
      state = assemble(s, state, results, options);
      lap(false);
    }
  }
  const s0 = levels[0];
  const votes = Array.from({ length: s0.tiles.length >> 2 }, (_, k) => runTile(s0, state!, options, k, 'vote'));
  lap(true);
  await encodeImage(finish(image, s0, assembleValues(s0, state!, votes)), 'png');
  lap(false);
  return { serial, parallel };
}

/** Sums of the timed 2-node runs' `team step` debug lines of one node (see --team-steps). */
function teamStepSummary(lines: readonly string[]): string {
  const sum = { steps: 0, tilesMs: 0, waitMs: 0, readMs: 0, assembleMs: 0 };
  for (const line of lines) {
    if (!line.includes('"team step"')) continue;
    const x = JSON.parse(line) as { run: string; tilesMs: number; waitMs: number; readMs: number; assembleMs: number };
    if (!/^bench-\d+-2\//.test(x.run)) continue;
    sum.steps++;
    sum.tilesMs += x.tilesMs;
    sum.waitMs += x.waitMs;
    sum.readMs += x.readMs;
    sum.assembleMs += x.assembleMs;
  }
  return `${sum.steps} steps: own tiles ${fmt(sum.tilesMs)} ms, peer wait ${fmt(sum.waitMs)} ms, read ${fmt(sum.readMs)} ms, assemble ${fmt(sum.assembleMs)} ms`;
}

async function main(): Promise<void> {
  const images = sharedImages();
  const imageBytes = await scaled(resolve(images, 't009.jpg'), false);
  const maskBytes = await scaled(resolve(images, 'm009.png'), true);
  const nats = await startNatsServer();
  const nodes: KernelNodeProcess[] = [];
  const namespace = 'bench';
  try {
    for (const id of ['bench-a', 'bench-b']) nodes.push(await spawnKernelNode({ natsUrl: nats.url, namespace, id, workers: 1, heartbeatMs: 1000, nodeFlags, ...(teamSteps ? { env: { PATCHWORK_LOG_LEVEL: 'debug' } } : {}) }));
    const nc = await connectNats({ servers: nats.url });
    const store = await BlobStore.open(nc, { bucket: `${namespace}_blobs` });
    const jsm = await jetstreamManager(nc);
    let clusterRuns = 0;
    /** Before each cluster run: an empty bucket and a job no node has seen (see the header). */
    const freshInputs = async (): Promise<{ image: string; mask: string }> => {
      await jsm.streams.purge(`OBJ_${store.bucket}`);
      const image = await store.put(withPngText(imageBytes, 'patchwork-bench-run', String(clusterRuns++)));
      const mask = await store.put(maskBytes);
      return { image: image.id, mask: mask.id };
    };
    const cluster = await KernelCluster.connect({ nc, namespace, log: pino({ level: 'warn' }) });
    await cluster.nodes.waitFor((ns) => ns.length === 2, 10_000);

    const clusterCpuMs = (): number => nodes.reduce((n, p) => n + cpuMsOf(p.child.pid!), cpuMsOf(nats.pid!)) + selfCpuMs();
    const inProcess = async (seed: number, workers: number): Promise<Run> => {
      const c0 = selfCpuMs();
      const t0 = performance.now();
      const img = await decodeImage(imageBytes, 'image');
      const msk = await decodeImage(maskBytes, 'mask');
      const out = await encodeImage(await inpaint(img, msk, { seed, workers }), 'png');
      return { ms: performance.now() - t0, cpuMs: selfCpuMs() - c0, id: blobIdOf(out) };
    };
    const remote = async (seed: number, maxNodes: number, rep: number): Promise<Run> => {
      const inputs = await freshInputs();
      const job: JobSpec = { jobId: `bench-${rep}-${maxNodes}`, imageBlobId: inputs.image, maskBlobId: inputs.mask, donorBlobIds: [], options: optionsToWire({ seed }) };
      const pids = nodes.map((n) => n.child.pid!);
      const before = pids.map(threadCpuMs);
      const nats0 = cpuMsOf(nats.pid!);
      const self0 = selfCpuMs();
      const c0 = clusterCpuMs();
      const t0 = performance.now();
      const r = await inpaintRemote(cluster, job, { maxNodes, minShardTargets, soloMaxTargets, chunksPerNode, teamRuns, runTargets });
      const wall = performance.now() - t0;
      const cpuMs = clusterCpuMs() - c0;
      const after = pids.map(threadCpuMs);
      const [a, b] = pids.map((pid, i) => splitDelta(pid, before[i], after[i]));
      const threads = { a, b, nats: cpuMsOf(nats.pid!) - nats0, client: selfCpuMs() - self0 };
      return { ms: wall, cpuMs, threads, id: r.result.id, calls: r.usage.calls };
    };

    // Warm-up (JIT, worker start-up, connections), not counted.
    for (let w = 0; w < warmups; w++) {
      await inProcess(1000 + w, 2);
      await remote(1000 + w, 2, -1 - w);
    }

    // Rotating orders, each with the 2-node run before the 1-node run (see the header).
    const orders: Variant[][] = [
      ['in1', 'in2', 'two', 'one'],
      ['two', 'one', 'in1', 'in2'],
      ['in2', 'two', 'in1', 'one'],
      ['two', 'in1', 'one', 'in2'],
    ];
    const ms: Record<Variant, number[]> = { in1: [], in2: [], one: [], two: [] };
    const cpu: Record<Variant, number[]> = { in1: [], in2: [], one: [], two: [] };
    const threadRuns: Record<'one' | 'two', NonNullable<Run['threads']>[]> = { one: [], two: [] };
    const splitText = (t: ThreadSplit): string => `${fmt(t.main)}/${fmt(t.busiest)}/${fmt(t.rest)}`;
    const speedups: number[] = [];
    const inSpeedups: number[] = [];
    const overheads: number[] = [];
    let identical = true;
    let calls = 0;
    console.log(`rep  seed  in-process 1w  in-process 2w  1 node  2 nodes  speed-up (cluster, in-process)  overhead  (ms)`);
    for (let rep = 0; rep < reps; rep++) {
      // One seed for all four: every ratio compares the same work.
      const seed = rep + 1;
      const row: Partial<Record<Variant, number>> = {};
      const ids: Partial<Record<Variant, string>> = {};
      for (const v of orders[rep % orders.length]) {
        const s = seed;
        const r = v === 'in1' ? await inProcess(s, 1) : v === 'in2' ? await inProcess(s, 2) : await remote(s, v === 'one' ? 1 : 2, rep);
        if (v === 'two') calls = r.calls ?? 0;
        if (perRun && !r.threads) console.log(`     ${v} seed ${s}: CPU ${fmt(r.cpuMs)} ms (this process)`);
        if (r.threads && (v === 'one' || v === 'two')) {
          threadRuns[v].push(r.threads);
          if (perRun) console.log(`     ${v} seed ${s}: CPU ${fmt(r.cpuMs)} ms = node a ${splitText(r.threads.a)}, node b ${splitText(r.threads.b)} (main/worker/rest), nats ${fmt(r.threads.nats)}, client ${fmt(r.threads.client)}`);
        }
        row[v] = r.ms;
        ms[v].push(r.ms);
        cpu[v].push(r.cpuMs);
        ids[v] = r.id;
      }
      const same = ids.one === ids.in1 && ids.two === ids.in1 && ids.in2 === ids.in1;
      if (!same) identical = false;
      const speedup = row.one! / row.two!;
      const inSpeedup = row.in1! / row.in2!;
      const overhead = row.two! / row.in2!;
      speedups.push(speedup);
      inSpeedups.push(inSpeedup);
      overheads.push(overhead);
      console.log(
        `${String(rep).padStart(3)}  ${String(seed).padStart(4)}  ${fmt(row.in1!).padStart(13)}  ${fmt(row.in2!).padStart(13)}  ${fmt(row.one!).padStart(6)}  ${fmt(row.two!).padStart(7)}  ${fmt(speedup, 2).padStart(17)}, ${fmt(inSpeedup, 2).padStart(11)}  ${fmt(overhead, 3).padStart(8)}  ${same ? 'same bytes' : 'BYTES DIFFER'}`,
      );
    }
    const shares = [];
    for (let i = 0; i < 3; i++) shares.push(await serialShare(imageBytes, maskBytes, teamRuns ? 0 : 2 * (minShardTargets ?? REMOTE_FILL_DEFAULTS.minShardTargets)));
    const serialMs = median(shares.map((x) => x.serial));
    const parallelMs = median(shares.map((x) => x.parallel));
    const amdahl = (serialMs + parallelMs) / (serialMs + parallelMs / 2);
    console.log(`one thread by phase (median of 3): serial ${Math.round(serialMs)} ms, splittable ${Math.round(parallelMs)} ms: at best ${amdahl.toFixed(2)}x on two cores (Amdahl)`);
    const result = {
      bench: 'cluster',
      team_runs: teamRuns,
      image: 't009 scaled to 1024x768, m009 scaled (hole 10.4%)',
      reps,
      ms_in_process_one_worker: Math.round(median(ms.in1)),
      ms_in_process: Math.round(median(ms.in2)),
      ms_one_node: Math.round(median(ms.one)),
      ms_two_nodes: Math.round(median(ms.two)),
      speedup_two_nodes: Number(median(speedups).toFixed(3)),
      speedup_spread: [Number(Math.min(...speedups).toFixed(3)), Number(Math.max(...speedups).toFixed(3))],
      overhead_vs_in_process: Number(median(overheads).toFixed(3)),
      overhead_spread: [Number(Math.min(...overheads).toFixed(3)), Number(Math.max(...overheads).toFixed(3))],
      overhead_one_node_vs_one_worker: Number((median(ms.one) / median(ms.in1)).toFixed(3)),
      in_process_speedup_two_workers: Number(median(inSpeedups).toFixed(3)),
      in_process_speedup_spread: [Number(Math.min(...inSpeedups).toFixed(3)), Number(Math.max(...inSpeedups).toFixed(3))],
      amdahl_max_speedup: Number(amdahl.toFixed(3)),
      cpu_ms: { in_process_one_worker: Math.round(median(cpu.in1)), in_process: Math.round(median(cpu.in2)), one_node: Math.round(median(cpu.one)), two_nodes: Math.round(median(cpu.two)) },
      calls_two_nodes: calls,
      bytes_identical: identical,
    };
    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`\nCPU ms (median; cluster = nodes + nats-server + client): in-process 1w ${Math.round(median(cpu.in1))}, 2w ${Math.round(median(cpu.in2))}; 1 node ${Math.round(median(cpu.one))}, 2 nodes ${Math.round(median(cpu.two))}; load average ${loadavg}`);
    for (const v of ['one', 'two'] as const) {
      const t = threadRuns[v];
      const m = (f: (x: NonNullable<Run['threads']>) => number): string => fmt(median(t.map(f)));
      console.log(
        `CPU ms by thread, ${v === 'one' ? '1 node ' : '2 nodes'} (median): node a main ${m((x) => x.a.main)} worker ${m((x) => x.a.busiest)} rest ${m((x) => x.a.rest)}; ` +
          `node b main ${m((x) => x.b.main)} worker ${m((x) => x.b.busiest)} rest ${m((x) => x.b.rest)}; nats-server ${m((x) => x.nats)}; client ${m((x) => x.client)}`,
      );
    }
    console.log(
      `medians: in-process 1w ${result.ms_in_process_one_worker} ms, 2w ${result.ms_in_process} ms; 1 node ${result.ms_one_node} ms, 2 nodes ${result.ms_two_nodes} ms; ` +
        `speed-up ${result.speedup_two_nodes} (goal >= 1.7; in-process 2 workers: ${result.in_process_speedup_two_workers}); overhead ${result.overhead_vs_in_process} (goal <= 1.15)`,
    );
    if (teamSteps) for (const n of nodes) console.log(`team steps, ${n.id}, timed 2-node runs: ${teamStepSummary(n.log)}`);
    await cluster.close();
    await nc.close();
    console.log(JSON.stringify(result));
    if (!identical) process.exitCode = 1;
  } finally {
    for (const n of nodes) await n.kill('SIGTERM');
    await nats.dispose();
  }
}

await main();
