// `npm run bench:load`: 100 concurrent small jobs (the shared photos downscaled) through the
// GraphQL API of two gateways — upload, createInpaintJob, poll until done — on the same loopback
// cluster as the fault suite (three NATS servers at 3 replicas, two gateways, three kernel nodes).
// Ten tenants with ten jobs each (each tenant's running cap set to 10, so all 100 run at once).
// Two batches back to back: memory is bounded when the second batch peaks no higher than the
// first and the processes fall back after each. Prints jobs per minute, each process's peak RSS
// (sampled from /proc/<pid>/status every 250 ms) per batch, and a JSON line last.
//
//   npm run bench:load -- --jobs 100 --width 160 --batches 2
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { FaultCluster } from '../test/support/fault-cluster.ts';
import { createJob, jobState, type JobState } from '../test/support/fault-scenarios.ts';
import { sharedCases } from './support/small-cases.ts';

const program = new Command()
  .option('--jobs <n>', 'jobs per batch', (v) => Number.parseInt(v, 10), 100)
  .option('--tenants <n>', 'tenants the jobs are spread over', (v) => Number.parseInt(v, 10), 10)
  .option('--width <px>', 'width the shared photos are scaled to', (v) => Number.parseInt(v, 10), 160)
  .option('--batches <n>', 'batches run one after the other', (v) => Number.parseInt(v, 10), 2)
  .parse();
const opts = program.opts<{ jobs: number; tenants: number; width: number; batches: number }>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

/** VmRSS and VmHWM of a process, bytes (undefined once it is gone). */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

class RssSampler {
  readonly peak = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  constructor(private readonly procs: Array<{ role: string; name: string; pid: number }>) {}
  start(): void {
    const sample = () => {
      for (const p of this.procs) {
        const m = memoryOf(p.pid);
        if (m) this.peak.set(p.name, Math.max(this.peak.get(p.name) ?? 0, m.rss));
      }
    };
    sample();
    this.#timer = setInterval(sample, 250);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

const tokens = Array.from({ length: opts.tenants }, (_, i) => `load-token-${String(i).padStart(4, '0')}`);
const { cases, source } = await sharedCases(opts.width);
console.log(`load: ${opts.batches} batch(es) of ${opts.jobs} concurrent jobs over ${opts.tenants} tenants and 2 gateways (${cases.map((c) => c.name).join(', ')}; ${source})`);

const t0 = Date.now();
const cluster = await FaultCluster.start({
  gateways: 2,
  kernels: 3,
  gatewayEnv: {
    PATCHWORK_TOKENS: tokens.map((t, i) => `${t}=tenant${i}`).join(','),
    PATCHWORK_MAX_RUNNING_JOBS_PER_TENANT: String(Math.ceil(opts.jobs / opts.tenants)),
  },
});
const procs = cluster.pids();
const batches: Array<{ batch: number; jobs: number; completed: number; ms: number; jobsPerMinute: number; consistent: boolean; peakRss: Record<string, number>; rssAfter: Record<string, number> }> = [];
let failed = false;
try {
  console.log(`cluster up in ${Date.now() - t0} ms: ${procs.map((p) => `${p.name} (${p.role}) pid ${p.pid}`).join(', ')}`);
  for (let b = 1; b <= opts.batches; b++) {
    const sampler = new RssSampler(procs);
    sampler.start();
    const start = Date.now();
    // Submit all at once: every job is uploaded and created concurrently.
    const submitted = await Promise.all(
      Array.from({ length: opts.jobs }, async (_, i) => {
        const tenant = i % opts.tenants;
        const g = cluster.gateways[i % 2];
        const c = cases[i % cases.length];
        return { id: await createJob(g.proc.url, c, tokens[tenant]), tenant, gateway: g, c };
      }),
    );
    const submittedMs = Date.now() - start;
    const done = new Map<string, JobState>();
    while (done.size < submitted.length) {
      if (Date.now() - start > 30 * 60_000) throw new Error(`batch ${b}: ${submitted.length - done.size} jobs not done in 30 min`);
      await sleep(500);
      await Promise.all(
        submitted
          .filter((s) => !done.has(s.id))
          .map(async (s) => {
            const st = await jobState(s.gateway.proc.url, s.id, tokens[s.tenant]).catch(() => undefined);
            if (st && ['COMPLETED', 'FAILED', 'CANCELED'].includes(st.status)) done.set(s.id, st);
          }),
      );
    }
    const ms = Date.now() - start;
    sampler.stop();
    const completed = [...done.values()].filter((s) => s.status === 'COMPLETED').length;
    for (const s of done.values()) if (s.status !== 'COMPLETED') console.log(`  job ${s.id}: ${s.status} ${JSON.stringify(s.error)}`);
    // Same inputs and seed give the same bytes: every job of one case has one result id.
    const byCase = new Map<string, Set<string>>();
    for (const s of submitted) {
      const r = done.get(s.id)?.result?.id;
      if (!r) continue;
      if (!byCase.has(s.c.name)) byCase.set(s.c.name, new Set());
      byCase.get(s.c.name)!.add(r);
    }
    const consistent = [...byCase.values()].every((set) => set.size === 1);
    await sleep(3_000);
    const rssAfter: Record<string, number> = {};
    for (const p of procs) rssAfter[p.name] = memoryOf(p.pid)?.rss ?? 0;
    const peakRss = Object.fromEntries(sampler.peak);
    const jobsPerMinute = (completed / ms) * 60_000;
    batches.push({ batch: b, jobs: submitted.length, completed, ms, jobsPerMinute, consistent, peakRss, rssAfter });
    console.log(`batch ${b}: ${completed}/${submitted.length} completed in ${(ms / 1000).toFixed(1)} s (all submitted in ${(submittedMs / 1000).toFixed(1)} s): ${jobsPerMinute.toFixed(1)} jobs/min; same bytes for the same inputs: ${consistent}`);
    if (completed !== submitted.length || !consistent) failed = true;
  }
} finally {
  await cluster.close();
}

const hwmNote = 'peak RSS sampled every 250 ms during the batch; "after" is 3 s after the batch ended';
const head = ['process', 'role', ...batches.flatMap((b) => [`peak RSS batch ${b.batch}`, `after batch ${b.batch}`]), ...(batches.length > 1 ? [`peak ${batches.length} / peak 1`] : [])];
const rows = procs.map((p) => {
  const cells = [p.name, p.role];
  for (const b of batches) cells.push(`${((b.peakRss[p.name] ?? 0) / MB).toFixed(0)} MiB`, `${((b.rssAfter[p.name] ?? 0) / MB).toFixed(0)} MiB`);
  if (batches.length > 1) cells.push(((batches[batches.length - 1].peakRss[p.name] ?? 0) / (batches[0].peakRss[p.name] || 1)).toFixed(2));
  return cells;
});
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
console.log('');
console.log([line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
console.log(`(${hwmNote})`);
const growth = batches.length > 1 ? Math.max(...procs.map((p) => (batches[batches.length - 1].peakRss[p.name] ?? 0) / (batches[0].peakRss[p.name] || 1))) : 1;
console.log(`largest growth of a process's peak RSS from the first to the last batch: ×${growth.toFixed(2)}`);
console.log(
  JSON.stringify({
    bench: 'load',
    jobsPerBatch: opts.jobs,
    tenants: opts.tenants,
    width: opts.width,
    images: source,
    batches: batches.map((b) => ({ batch: b.batch, completed: b.completed, jobs: b.jobs, seconds: Math.round(b.ms / 100) / 10, jobsPerMinute: Math.round(b.jobsPerMinute * 10) / 10, consistent: b.consistent, peakRssMiB: Object.fromEntries(Object.entries(b.peakRss).map(([k, v]) => [k, Math.round(v / MB)])), rssAfterMiB: Object.fromEntries(Object.entries(b.rssAfter).map(([k, v]) => [k, Math.round(v / MB)])) })),
    peakRssGrowthMax: Math.round(growth * 100) / 100,
  }),
);
process.exit(failed ? 1 : 0);
