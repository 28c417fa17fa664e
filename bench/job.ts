// npm run bench:job — the inpaint job through the cluster against the same fill in process.
//
//   cases        t067 (examples/, 512x320, hole 24.9%) and t009 scaled to 1024x768 (mask scaled
//                with nearest neighbour, hole ~10%)
//   in-process   decode + inpaint({ workers: 2 }) + PNG encode, from bytes in memory  <- baseline
//   cluster      a job through the job service: a host in this process (durability strict,
//                previews on, as `patchwork gateway` runs it) and 2 `patchwork kernel --workers 1`
//                processes; timed from create() (inputs already uploaded) until the job is seen
//                COMPLETED in the index, with its PNG stored
//
// overhead_ratio = ms_cluster / ms_in_process (medians over repetitions; the spread is min..max
// of the per-repetition ratios). Each repetition uses a fresh seed (no node finds a previous
// job in its caches) and alternates which of the two runs first. Every job's result must be
// byte-identical to the in-process PNG (exit 1 otherwise).
//
// --reps N (default 5); --variants also times, per repetition, the same job with previews off,
// with previews off and pipelined durability, and the raw remote driver (inpaintRemote, no
// orchestration), to show where the cluster's time goes. The job runs with the product's
// defaults (client-driven steps; team runs are opt-in for jobs): --team runs it with team runs;
// --ab-team: the job with and without team runs side by side (paired per repetition).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { BlobStore, blobIdOf } from '../src/common/blob-store.ts';
import { createJobRuntime, type ImageRef, type JobRuntime, type JobRuntimeOptions } from '../src/actors/index.ts';
import { inpaintRemote, optionsToWire } from '../src/kernel/client/index.ts';
import { decodeImage, encodeImage, inpaint, maskToBinary } from '../src/kernel/index.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { spawnKernelNode, type KernelNodeProcess } from '../test/support/kernel-node.ts';
import { repoRoot } from './support/shared.ts';

function numberArg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}
const reps = numberArg('--reps') ?? 5;
const withVariants = process.argv.includes('--variants');
// --team: the job with team runs (settings.teamRuns true) instead of the default client-driven steps.
const teamRuns = process.argv.includes('--team');
// --ab-team: also times, per repetition, the job without team runs (paired, order alternating).
const abTeam = process.argv.includes('--ab-team');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r3 = (x: number): number => Number(x.toFixed(3));

/** CPU time (user + system, all threads) of a process so far, in ms. */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Case {
  name: string;
  image: Buffer;
  mask: Buffer;
  holeFraction: number;
}

async function loadCases(): Promise<Case[]> {
  const ex = resolve(repoRoot, 'examples');
  const holeOf = async (mask: Buffer): Promise<number> => {
    const m = await decodeImage(mask, 'mask');
    const bin = maskToBinary(m, m.width, m.height);
    let n = 0;
    for (const b of bin) n += b;
    return n / bin.length;
  };
  const t067 = { image: readFileSync(resolve(ex, 't067.jpg')), mask: readFileSync(resolve(ex, 'm067.png')) };
  const big = {
    image: await sharp(resolve(ex, 't009.jpg')).resize(1024, 768, { fit: 'fill', kernel: 'lanczos3' }).png().toBuffer(),
    mask: await sharp(resolve(ex, 'm009.png')).resize(1024, 768, { fit: 'fill', kernel: 'nearest' }).png().toBuffer(),
  };
  return [
    { name: 't067', ...t067, holeFraction: await holeOf(t067.mask) },
    { name: '1024x768', ...big, holeFraction: await holeOf(big.mask) },
  ];
}

interface Run {
  ms: number;
  cpuMs: number;
  id: string;
  events?: number;
  blobBytes?: number;
  kernelCpuMs?: number;
  kernelCalls?: number;
}

async function main(): Promise<void> {
  const cases = await loadCases();
  const load0 = loadavg();
  const nats = await startNatsServer();
  const nodes: KernelNodeProcess[] = [];
  const runtimes: JobRuntime[] = [];
  const namespace = 'benchjob';
  try {
    for (const id of ['bench-a', 'bench-b']) nodes.push(await spawnKernelNode({ natsUrl: nats.url, namespace, id, workers: 1, heartbeatMs: 1000 }));
    const runtime = async (o: Partial<JobRuntimeOptions>): Promise<JobRuntime> => {
      const rt = await createJobRuntime({ natsUrl: nats.url, namespace, tenantRunningCap: 100, logger: pino({ level: 'warn' }), ...o, host: { claim: false, ...(o.host ?? {}) } });
      runtimes.push(rt);
      await rt.cluster.nodes.waitFor((ns) => ns.length === 2, 10_000);
      return rt;
    };
    const main = await runtime({ fill: { teamRuns } });
    const variants: Record<string, JobRuntime> = { job: main };
    if (abTeam) variants[teamRuns ? 'no_team' : 'team'] = await runtime({ fill: { teamRuns: !teamRuns } });
    if (withVariants) {
      variants.no_previews = await runtime({ fill: { previews: false } });
      variants.no_previews_pipelined = await runtime({ fill: { previews: false }, host: { durability: 'pipelined' } });
    }
    const tenant = 'bench';
    const uploads = new Map<string, { image: ImageRef; mask: ImageRef }>();
    const store = await BlobStore.open(main.nc, { bucket: `${namespace}_blobs` });
    for (const c of cases) {
      const refs = await Promise.all(
        [c.image, c.mask].map(async (bytes) => {
          const meta = await sharp(bytes).metadata();
          const { id } = await store.put(bytes);
          const ref: ImageRef = { id, width: meta.width!, height: meta.height!, contentType: meta.format === 'jpeg' ? 'image/jpeg' : 'image/png' };
          await main.jobs.recordUpload(tenant, ref);
          return ref;
        }),
      );
      uploads.set(c.name, { image: refs[0], mask: refs[1] });
    }

    const clusterCpuMs = (): number => nodes.reduce((n, p) => n + cpuMsOf(p.child.pid!), cpuMsOf(nats.pid!)) + selfCpuMs();
    const inProcess = async (c: Case, seed: number): Promise<Run> => {
      const c0 = selfCpuMs();
      const t0 = performance.now();
      const out = await encodeImage(await inpaint(await decodeImage(c.image, 'image'), await decodeImage(c.mask, 'mask'), { seed, workers: 2 }), 'png');
      return { ms: performance.now() - t0, cpuMs: selfCpuMs() - c0, id: blobIdOf(out) };
    };
    const job = async (rt: JobRuntime, c: Case, seed: number): Promise<Run> => {
      const u = uploads.get(c.name)!;
      const c0 = clusterCpuMs();
      const t0 = performance.now();
      const v = await rt.jobs.create(tenant, { imageId: u.image.id, maskId: u.mask.id, options: { seed } });
      const st = await rt.host.client.waitForCompletion(v.id, { timeoutMs: 300_000 });
      const ms = performance.now() - t0;
      const cpuMs = clusterCpuMs() - c0;
      const view = (await rt.jobs.get(tenant, v.id))!;
      if (st.status !== 'COMPLETED') throw new Error(`job ${v.id} ended ${st.status}: ${JSON.stringify(st.error)}`);
      return { ms, cpuMs, id: view.result!.id, events: view.stats.events, blobBytes: view.stats.blobBytes, kernelCpuMs: view.stats.kernelCpuMs, kernelCalls: view.stats.kernelCalls };
    };
    const raw = async (c: Case, seed: number, rep: number): Promise<Run> => {
      const u = uploads.get(c.name)!;
      const c0 = clusterCpuMs();
      const t0 = performance.now();
      const r = await inpaintRemote(main.cluster, { jobId: `raw-${c.name}-${rep}-${seed}`, imageBlobId: u.image.id, maskBlobId: u.mask.id, donorBlobIds: [], options: optionsToWire({ seed }) });
      return { ms: performance.now() - t0, cpuMs: clusterCpuMs() - c0, id: r.result.id };
    };

    // Warm-up (JIT, worker start-up, connections), not counted.
    for (const c of cases) {
      await inProcess(c, 1000);
      await job(main, c, 1000);
    }

    const names = ['in_process', ...Object.keys(variants), ...(withVariants ? ['raw_driver'] : [])];
    const results: Record<string, Record<string, Run[]>> = {};
    for (const c of cases) results[c.name] = Object.fromEntries(names.map((n) => [n, []]));
    let identical = true;
    console.log(`case      rep  ${names.map((n) => n.padStart(22)).join('')}  (ms)`);
    for (let rep = 0; rep < reps; rep++) {
      for (const c of cases) {
        const seed = 1 + rep;
        const order = rep % 2 === 0 ? names : [...names].reverse();
        const row: Record<string, Run> = {};
        for (const n of order) {
          row[n] = n === 'in_process' ? await inProcess(c, seed) : n === 'raw_driver' ? await raw(c, seed, rep) : await job(variants[n], c, seed);
          results[c.name][n].push(row[n]);
        }
        const ids = new Set(Object.values(row).map((r) => r.id));
        if (ids.size !== 1) identical = false;
        console.log(`${c.name.padEnd(9)} ${String(rep).padStart(3)}  ${names.map((n) => `${Math.round(row[n].ms)}`.padStart(22)).join('')}  ${ids.size === 1 ? 'same bytes' : 'BYTES DIFFER'}`);
      }
    }

    const perCase: Record<string, unknown> = {};
    let sumCluster = 0;
    let sumIn = 0;
    const events: number[] = [];
    const blobBytes: number[] = [];
    for (const c of cases) {
      const r = results[c.name];
      const ratios = r.job.map((j, i) => j.ms / r.in_process[i].ms);
      const msCluster = median(r.job.map((x) => x.ms));
      const msIn = median(r.in_process.map((x) => x.ms));
      sumCluster += msCluster;
      sumIn += msIn;
      events.push(median(r.job.map((x) => x.events!)));
      blobBytes.push(median(r.job.map((x) => x.blobBytes!)));
      const entry: Record<string, unknown> = {
        hole: r3(c.holeFraction),
        ms_cluster: Math.round(msCluster),
        ms_in_process: Math.round(msIn),
        overhead_ratio: r3(msCluster / msIn),
        overhead_spread: [r3(Math.min(...ratios)), r3(Math.max(...ratios))],
        events_per_job: median(r.job.map((x) => x.events!)),
        blob_bytes_per_job: median(r.job.map((x) => x.blobBytes!)),
        kernel_cpu_ms_per_job: Math.round(median(r.job.map((x) => x.kernelCpuMs!))),
        kernel_calls_per_job: median(r.job.map((x) => x.kernelCalls!)),
        cpu_ms: { in_process: Math.round(median(r.in_process.map((x) => x.cpuMs))), cluster: Math.round(median(r.job.map((x) => x.cpuMs))) },
      };
      for (const n of names) if (n !== 'in_process' && n !== 'job') entry[`ms_${n}`] = Math.round(median(r[n].map((x) => x.ms)));
      perCase[c.name] = entry;
      console.log(`${c.name}: ${JSON.stringify(entry)}`);
    }
    const load1 = loadavg();
    const result = {
      bench: 'job',
      team_runs: teamRuns,
      reps,
      nodes: 2,
      workers_per_node: 1,
      in_process_workers: 2,
      ms_cluster: Math.round(sumCluster),
      ms_in_process: Math.round(sumIn),
      overhead_ratio: r3(sumCluster / sumIn),
      events_per_job: Math.round(events.reduce((a, b) => a + b, 0) / events.length),
      blob_bytes_per_job: Math.round(blobBytes.reduce((a, b) => a + b, 0) / blobBytes.length),
      goal_overhead: 1.15,
      cases: perCase,
      loadavg_start: load0.map((x) => r3(x)),
      loadavg_end: load1.map((x) => r3(x)),
      bytes_identical: identical,
    };
    console.log(JSON.stringify(result));
    if (!identical) process.exitCode = 1;
  } finally {
    for (const rt of runtimes) await rt.close({ drainMs: 0 }).catch(() => undefined);
    for (const n of nodes) await n.kill('SIGTERM');
    await nats.dispose();
  }
}

await main();
