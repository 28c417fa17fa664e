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
// of the per-repetition ratios). Each repetition uses a fresh seed and alternates the order of
// the runs; every cluster run gets a fresh job key (its mask tagged with a tEXt chunk: same
// pixels), so no run finds the job prepared or its states cached by a run before it. Every job's result must be
// byte-identical to the in-process PNG (exit 1 otherwise).
//
// --reps N (default 5); --variants also times, per repetition, the same job with previews off,
// with previews off and pipelined durability, and the raw remote driver (inpaintRemote, no
// orchestration, same mode as the job), to show where the cluster's time goes. The job runs
// with the product's defaults (team runs): --no-team runs it with the client-driven steps;
// --ab-team: the job with and without team runs side by side (paired per repetition); --ab-store:
// the job storing every team run step against the default (only each run's last). Each
// job variant also prints a breakdown of its wall time from its activity spans (before the
// first kernel call, Prepare, steps, gaps between steps, Finish, previews; see breakdown()).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { pino } from 'pino';
import sharp from 'sharp';
import { BlobStore, blobIdOf } from '../src/common/blob-store.ts';
import { createJobRuntime, type ImageRef, type JobRuntime, type JobRuntimeOptions } from '../src/actors/index.ts';
import type { ActivityRequest, Dispatcher } from '../src/actors/dispatcher.ts';
import { DEFAULT_FILL_SETTINGS } from '../src/actors/jobs/job-state.ts';
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
// The job with the product's default (team runs); --no-team: the client-driven steps
// (settings.teamRuns false); --team: team runs whatever the default.
const teamRuns = process.argv.includes('--no-team') ? false : process.argv.includes('--team') ? true : (DEFAULT_FILL_SETTINGS.teamRuns ?? false);
// --ab-team: also times, per repetition, the job in the other mode (paired, order alternating).
const abTeam = process.argv.includes('--ab-team');
// --ab-store: also times, per repetition, the job storing every team run step (settings
// teamStoreLastStepOnly false, how jobs ran before it) against the default (only each run's last).
const abStore = process.argv.includes('--ab-store');

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
  breakdown?: Record<string, number>;
}

/** The PNG with a tEXt chunk (`Comment`) right after IHDR: same pixels, another blob id. */
function withTextChunk(png: Buffer, text: string): Buffer {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('withTextChunk: not a PNG');
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  const body = Buffer.concat([Buffer.from('tEXt'), Buffer.from(`Comment\0${text}`, 'latin1')]);
  const chunk = Buffer.alloc(body.length + 8);
  chunk.writeUInt32BE(body.length - 4, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), body.length + 4);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

/** One activity attempt as the job's dispatcher saw it (ms on this process's clock). */
interface Span {
  name: string;
  start: number;
  end: number;
}

/** Records every activity attempt per job (instance id): where a job's wall time goes. */
class SpanRecorder {
  readonly byJob = new Map<string, Span[]>();
  wrap(inner: Dispatcher): Dispatcher {
    return {
      dispatch: async (r: ActivityRequest) => {
        const span: Span = { name: r.name, start: performance.now(), end: 0 };
        const list = this.byJob.get(r.instanceId) ?? [];
        list.push(span);
        this.byJob.set(r.instanceId, list);
        try {
          return await inner.dispatch(r);
        } finally {
          span.end = performance.now();
        }
      },
      close: () => inner.close?.() ?? Promise.resolve(),
    };
  }
}

/** Total length of the union of intervals. */
function unionMs(spans: readonly { start: number; end: number }[]): number {
  const s = [...spans].sort((a, b) => a.start - b.start);
  let total = 0;
  let from = -Infinity;
  let to = -Infinity;
  for (const x of s) {
    if (x.start > to) {
      if (to > from) total += to - from;
      from = x.start;
      to = x.end;
    } else to = Math.max(to, x.end);
  }
  if (to > from) total += to - from;
  return total;
}

/**
 * Where one job's wall time went, from its activity spans: before the first kernel call
 * (admission, kernel.nodes), Prepare until the first step, the steps (any step call in flight),
 * gaps between steps with none in flight (the job's own turn: recording answers, statuses,
 * scheduling the next calls), Finish, and after it until the job was seen completed; previews:
 * how many, their kernel-call time, and how much of it ran while steps were in flight.
 */
function breakdown(spans: readonly Span[], t0: number, t1: number): Record<string, number> {
  const kernel = spans.filter((s) => s.name.startsWith('kernel.') && s.name !== 'kernel.nodes');
  const steps = spans.filter((s) => s.name === 'kernel.step');
  const previews = spans.filter((s) => s.name === 'kernel.preview');
  const finish = spans.filter((s) => s.name === 'kernel.finish');
  const first = Math.min(...kernel.map((s) => s.start));
  const stepStart = Math.min(...steps.map((s) => s.start));
  const stepEnd = Math.max(...steps.map((s) => s.end));
  const stepMs = unionMs(steps);
  const overlap = unionMs(previews.flatMap((p) => steps.filter((s) => s.start < p.end && s.end > p.start).map((s) => ({ start: Math.max(s.start, p.start), end: Math.min(s.end, p.end) }))));
  const r = (x: number): number => Math.round(x);
  return {
    before_kernel: r(first - t0),
    prepare_to_first_step: r(stepStart - first),
    steps: r(stepMs),
    gaps_between_steps: r(stepEnd - stepStart - stepMs),
    step_calls: steps.length,
    finish: r(finish.length ? Math.max(...finish.map((s) => s.end)) - stepEnd : 0),
    after_finish: r(t1 - (finish.length ? Math.max(...finish.map((s) => s.end)) : stepEnd)),
    previews: previews.length,
    preview_ms: r(previews.reduce((n, p) => n + p.end - p.start, 0)),
    preview_ms_during_steps: r(overlap),
  };
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
    const spans = new SpanRecorder();
    const runtime = async (o: Partial<JobRuntimeOptions>): Promise<JobRuntime> => {
      const rt = await createJobRuntime({ natsUrl: nats.url, namespace, tenantRunningCap: 100, logger: pino({ level: 'warn' }), wrapDispatcher: (d) => spans.wrap(d), ...o, host: { claim: false, ...(o.host ?? {}) } });
      runtimes.push(rt);
      await rt.cluster.nodes.waitFor((ns) => ns.length === 2, 10_000);
      return rt;
    };
    const main = await runtime({ fill: { teamRuns } });
    const variants: Record<string, JobRuntime> = { job: main };
    if (abTeam) variants[teamRuns ? 'no_team' : 'team'] = await runtime({ fill: { teamRuns: !teamRuns } });
    if (abStore) variants.store_every_step = await runtime({ fill: { teamRuns, teamStoreLastStepOnly: false } });
    if (withVariants) {
      variants.no_previews = await runtime({ fill: { teamRuns, previews: false } });
      variants.no_previews_pipelined = await runtime({ fill: { teamRuns, previews: false }, host: { durability: 'pipelined' } });
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

    // A fresh job key per cluster run: the mask with a tEXt chunk naming the run (same pixels,
    // another blob id), so no run finds the job prepared, or its states cached, by the run before
    // it with the same seed (the nodes key their caches by image, mask and options).
    let tagCount = 0;
    const freshMask = async (c: Case): Promise<ImageRef> => {
      const base = uploads.get(c.name)!.mask;
      const bytes = withTextChunk(c.mask, `bench-run-${++tagCount}`);
      const { id } = await store.put(bytes);
      const ref: ImageRef = { ...base, id };
      await main.jobs.recordUpload(tenant, ref);
      return ref;
    };
    /** CPU ms so far by part: the kernel nodes, nats-server, this process (the job host and the client). */
    const cpuParts = (): { nodes: number; nats: number; host: number } => ({ nodes: nodes.reduce((n, p) => n + cpuMsOf(p.child.pid!), 0), nats: cpuMsOf(nats.pid!), host: selfCpuMs() });
    const clusterCpuMs = (): number => {
      const p = cpuParts();
      return p.nodes + p.nats + p.host;
    };
    const inProcess = async (c: Case, seed: number): Promise<Run> => {
      const c0 = selfCpuMs();
      const t0 = performance.now();
      const out = await encodeImage(await inpaint(await decodeImage(c.image, 'image'), await decodeImage(c.mask, 'mask'), { seed, workers: 2 }), 'png');
      return { ms: performance.now() - t0, cpuMs: selfCpuMs() - c0, id: blobIdOf(out) };
    };
    const job = async (rt: JobRuntime, c: Case, seed: number): Promise<Run> => {
      const u = { image: uploads.get(c.name)!.image, mask: await freshMask(c) };
      const c0 = clusterCpuMs();
      const p0 = cpuParts();
      const t0 = performance.now();
      const v = await rt.jobs.create(tenant, { imageId: u.image.id, maskId: u.mask.id, options: { seed } });
      const st = await rt.host.client.waitForCompletion(v.id, { timeoutMs: 300_000 });
      const ms = performance.now() - t0;
      const cpuMs = clusterCpuMs() - c0;
      const view = (await rt.jobs.get(tenant, v.id))!;
      if (st.status !== 'COMPLETED') throw new Error(`job ${v.id} ended ${st.status}: ${JSON.stringify(st.error)}`);
      const p1 = cpuParts();
      const parts = { ...breakdown(spans.byJob.get(v.id) ?? [], t0, t0 + ms), cpu_nodes: Math.round(p1.nodes - p0.nodes), cpu_nats: Math.round(p1.nats - p0.nats), cpu_host: Math.round(p1.host - p0.host) };
      spans.byJob.delete(v.id);
      return { ms, cpuMs, id: view.result!.id, events: view.stats.events, blobBytes: view.stats.blobBytes, kernelCpuMs: view.stats.kernelCpuMs, kernelCalls: view.stats.kernelCalls, breakdown: parts };
    };
    const raw = async (c: Case, seed: number, rep: number): Promise<Run> => {
      const u = { image: uploads.get(c.name)!.image, mask: await freshMask(c) };
      const c0 = clusterCpuMs();
      const p0 = cpuParts();
      const t0 = performance.now();
      const r = await inpaintRemote(main.cluster, { jobId: `raw-${c.name}-${rep}-${seed}`, imageBlobId: u.image.id, maskBlobId: u.mask.id, donorBlobIds: [], options: optionsToWire({ seed }) }, { teamRuns });
      const ms = performance.now() - t0;
      const p1 = cpuParts();
      return { ms, cpuMs: clusterCpuMs() - c0, id: r.result.id, breakdown: { cpu_nodes: Math.round(p1.nodes - p0.nodes), cpu_nats: Math.round(p1.nats - p0.nats), cpu_host: Math.round(p1.host - p0.host) } };
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
      for (const n of names) {
        if (n === 'in_process' || n === 'job') continue;
        entry[`ms_${n}`] = Math.round(median(r[n].map((x) => x.ms)));
        // Paired per repetition (same seed): the default job's time over this variant's.
        entry[`job_vs_${n}`] = r3(median(r.job.map((j, i) => j.ms / r[n][i].ms)));
        entry[`blob_bytes_${n}`] = median(r[n].map((x) => x.blobBytes ?? 0));
      }
      // Where each job variant's time went (medians per part, ms; see breakdown()).
      const parts: Record<string, Record<string, number>> = {};
      for (const n of names) {
        const b = r[n].map((x) => x.breakdown).filter((x): x is Record<string, number> => !!x);
        if (b.length) parts[n] = Object.fromEntries(Object.keys(b[0]).map((k) => [k, median(b.map((x) => x[k]))]));
      }
      entry.breakdown = parts;
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
