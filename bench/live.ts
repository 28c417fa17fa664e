// npm run bench:live — what live progress costs a watched job, and what the watcher gets.
//
//   cluster    2 `patchwork kernel --workers 1` processes and the job runtime in this process
//              (test/support/job-cluster.ts), the product's fill settings (team runs, live
//              progress on)
//   off        the job with live progress off (settings.liveProgress false)   <- baseline
//   unwatched  create, then wait for COMPLETED in the index: hints go out, nobody answers, no
//              live preview is rendered
//   watched    create, then follow `jobs.watch` to the end (what a subscription does): live
//              previews are rendered within livePreviewShare
//
// Per case and repetition the three runs use the same seed on fresh job keys (the mask re-tagged:
// same pixels, another blob), in rotating order. Prints per case the median wall ms of each, the
// median paired ratios unwatched / off and watched / off, steps shown and previews per watched
// job, then one JSON line.
import { loadavg } from 'node:os';
import type { JobRuntime } from '../src/actors/index.ts';
import { VERSION_STRIDE } from '../src/actors/jobs/job-view.ts';
import { exampleCase, startJobCluster, type ExampleCase } from '../test/support/job-cluster.ts';
import { withPngText } from './support/png-text.ts';

const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 4;
const tenant = 'bench';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

type Mode = 'off' | 'unwatched' | 'watched';

interface Run {
  ms: number;
  result: string;
  liveViews: number;
  steps: number;
  previews: number;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const cluster = await startJobCluster({ nodes: 2 });
  try {
    // Each runtime hosts the jobs it creates (claim: false: neither takes the other's).
    const live: JobRuntime = await cluster.runtime({ tenantRunningCap: 8, host: { leaseTtlMs: 10_000, claim: false } });
    const off: JobRuntime = await cluster.runtime({ tenantRunningCap: 8, fill: { liveProgress: false }, host: { leaseTtlMs: 10_000, claim: false } });
    const cases: ExampleCase[] = [await exampleCase('t067'), await exampleCase('t009', 1024)];
    let tag = 0;
    const run = async (c: ExampleCase, seed: number, mode: Mode): Promise<Run> => {
      const rt = mode === 'off' ? off : live;
      const watched = mode === 'watched';
      const image = await cluster.upload(rt.jobs, tenant, c.image);
      const mask = await cluster.upload(rt.jobs, tenant, withPngText(c.mask, 'Comment', `bench-live-${++tag}`));
      const t0 = performance.now();
      const job = await rt.jobs.create(tenant, { imageId: image.id, maskId: mask.id, options: { seed } });
      if (!watched) {
        const st = await rt.host.client.waitForCompletion(job.id, { timeoutMs: 300_000 });
        const ms = performance.now() - t0;
        if (st.status !== 'COMPLETED') throw new Error(`job ${job.id} ended ${st.status}`);
        const v = (await rt.jobs.get(tenant, job.id))!;
        return { ms, result: v.result!.id, liveViews: 0, steps: 0, previews: 0 };
      }
      let liveViews = 0;
      const steps = new Set<string>();
      const previews = new Set<string>();
      let last = job;
      for await (const v of rt.jobs.watch(tenant, job.id)) {
        last = v;
        if (v.version % VERSION_STRIDE !== 0 && v.status === 'RUNNING') liveViews++;
        if (v.status === 'RUNNING' && v.level !== null) steps.add(`${v.level}/${v.iteration}`);
        if (v.preview) previews.add(v.preview.id);
      }
      const ms = performance.now() - t0;
      if (last.status !== 'COMPLETED') throw new Error(`job ${job.id} ended ${last.status}`);
      return { ms, result: last.result!.id, liveViews, steps: steps.size, previews: previews.size };
    };

    // Warm-up (JIT, worker start-up, connections), not counted.
    for (const c of cases) for (const m of ['off', 'watched'] as const) await run(c, 999, m);

    const out: Record<string, unknown> = {};
    const modes: Mode[] = ['off', 'unwatched', 'watched'];
    const r3 = (x: number): number => Number(x.toFixed(3));
    console.log('case          off ms  unwatched ms  watched ms  unwatched/off  watched/off (min–max)  steps shown  previews');
    for (const c of cases) {
      const runs: Record<Mode, Run[]> = { off: [], unwatched: [], watched: [] };
      for (let r = 0; r < reps; r++) {
        const seed = 10 + r;
        const order = [...modes.slice(r % 3), ...modes.slice(0, r % 3)];
        const got = {} as Record<Mode, Run>;
        for (const m of order) got[m] = await run(c, seed, m);
        if (got.unwatched.result !== got.off.result || got.watched.result !== got.off.result) throw new Error(`${c.name} seed ${seed}: the results differ`);
        for (const m of modes) runs[m].push(got[m]);
      }
      const ratios = (m: Mode): number[] => runs[m].map((x, i) => x.ms / runs.off[i].ms);
      const w = ratios('watched');
      const row = {
        ms_off: Math.round(median(runs.off.map((x) => x.ms))),
        ms_unwatched: Math.round(median(runs.unwatched.map((x) => x.ms))),
        ms_watched: Math.round(median(runs.watched.map((x) => x.ms))),
        unwatched_vs_off: r3(median(ratios('unwatched'))),
        watched_vs_off: r3(median(w)),
        watched_vs_off_min: r3(Math.min(...w)),
        watched_vs_off_max: r3(Math.max(...w)),
        steps_shown: median(runs.watched.map((x) => x.steps)),
        previews: median(runs.watched.map((x) => x.previews)),
      };
      out[c.name] = row;
      console.log(
        `${c.name.padEnd(12)}${String(row.ms_off).padStart(8)}${String(row.ms_unwatched).padStart(14)}${String(row.ms_watched).padStart(12)}${row.unwatched_vs_off.toFixed(3).padStart(15)}  ${row.watched_vs_off.toFixed(3)} (${row.watched_vs_off_min}–${row.watched_vs_off_max})${String(row.steps_shown).padStart(13)}${String(row.previews).padStart(10)}`,
      );
    }
    console.log('results identical off, unwatched and watched: yes');
    console.log(JSON.stringify({ bench: 'live', reps, load_before: load0.map((x) => Number(x.toFixed(2))), load_after: loadavg().map((x) => Number(x.toFixed(2))), ...out }));
  } finally {
    await cluster.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
