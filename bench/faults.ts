// `npm run test:faults`: the full fault matrix on a multi-process cluster on loopback — three
// NATS servers (streams, KV and object store at 3 replicas), two gateways, three kernel nodes —
// with jobs on the shared photos (downscaled). A fault-free run first gives the reference bytes;
// then each fault is injected `--runs` times (default 20), each run auditing every job (see
// test/support/fault-scenarios.ts). Prints a table and, last, one JSON line. Exits 1 if any run
// broke an invariant.
//
//   npm run test:faults -- --runs 5 --faults gateway-kill,gateway-freeze --width 200 --jobs 4
import { join } from 'node:path';
import { Command } from 'commander';
import { FaultCluster } from '../test/support/fault-cluster.ts';
import { FAULTS, HistoryReader, formatTable, passed, runBaseline, runFault, summarize, type FaultKind, type RunResult } from '../test/support/fault-scenarios.ts';
import { sharedCases } from './support/small-cases.ts';

const program = new Command()
  .option('--runs <n>', 'runs per fault', (v) => Number.parseInt(v, 10), 20)
  .option('--faults <list>', `comma-separated subset of ${FAULTS.join(', ')}`, FAULTS.join(','))
  .option('--width <px>', 'width the shared photos are scaled to', (v) => Number.parseInt(v, 10), 200)
  .option('--jobs <n>', 'jobs per run (spread over both gateways)', (v) => Number.parseInt(v, 10), 4)
  .option('--logs <dir>', 'write every process log into <dir>/<fault>-<run>/ after each failed run (all runs with --all-logs)')
  .option('--all-logs', 'with --logs: after every run, not only failed ones')
  .parse();
const opts = program.opts<{ runs: number; faults: string; width: number; jobs: number; logs?: string; allLogs?: boolean }>();
const faults = opts.faults.split(',').map((f) => f.trim()) as FaultKind[];
for (const f of faults) if (!FAULTS.includes(f)) throw new Error(`unknown fault '${f}' (one of ${FAULTS.join(', ')})`);

const { cases: all, source } = await sharedCases(opts.width);
const cases = Array.from({ length: opts.jobs }, (_, i) => all[i % all.length]);
const unique = new Map(cases.map((c) => [c.name, c]));
console.log(`fault matrix: ${faults.length} faults × ${opts.runs} runs, ${cases.length} jobs per run (${[...unique.keys()].join(', ')}; ${source})`);

const t0 = Date.now();
const cluster = await FaultCluster.start({ gateways: 2, kernels: 3 });
const history = await HistoryReader.open(cluster);
const results: RunResult[] = [];
let exitCode = 0;
try {
  console.log(`cluster up in ${Date.now() - t0} ms: NATS ${cluster.nats.urls} (stream at ${await history.streamReplicas()} replicas), 2 gateways, 3 kernel nodes`);
  const baseline = await runBaseline(cluster, history, [...unique.values()]);
  console.log(`fault-free run: ${baseline.run.completed}/${baseline.run.jobs} completed in ${baseline.run.ms} ms; calls answered beyond those recorded: ${baseline.extraCalls}; lost ${baseline.run.lost}, doubled ${baseline.run.doubled}`);
  if (baseline.run.lost || baseline.run.doubled || baseline.run.problems.length) console.log(`  problems: ${baseline.run.problems.join('; ')}`);
  for (const fault of faults) {
    for (let run = 0; run < opts.runs; run++) {
      let r: RunResult;
      const mark = cluster.logMark();
      try {
        r = await runFault(cluster, history, fault, run, cases, baseline, { log: (l) => console.log(l) });
      } catch (err) {
        r = { fault, run, jobs: cases.length, completed: 0, identical: 0, lost: 0, doubled: 0, staleWrites: 0, repeatedCalls: 0, inFlightAtFault: 0, recoveryMs: undefined, problems: [`run aborted: ${(err as Error).message}`], ms: 0 };
        await cluster.restore().catch((e: unknown) => console.log(`  restore failed: ${(e as Error).message}`));
      }
      results.push(r);
      const ok = passed(r);
      if (!ok) exitCode = 1;
      console.log(
        `${fault} #${run + 1}: ${ok ? 'ok' : 'FAILED'} — ${r.completed}/${r.jobs} completed, ${r.identical} identical, lost ${r.lost}, doubled ${r.doubled}, stale ${r.staleWrites}, calls rerun ${r.repeatedCalls} (in flight ${r.inFlightAtFault}), recovery ${r.recoveryMs ?? '-'} ms${r.staleLetGo !== undefined ? `, stale owner let go: ${r.staleLetGo}` : ''} (${r.ms} ms)`,
      );
      for (const p of r.problems) console.log(`  ${p}`);
      if (opts.logs && (!ok || opts.allLogs)) {
        const dir = join(opts.logs, `${fault}-${run + 1}`);
        cluster.dumpLogs(dir);
        console.log(`  logs: ${dir}`);
      }
      if (process.env.FAULTS_VERBOSE) for (const w of cluster.warningsSince(mark)) console.log(`  log: ${w}`);
    }
  }
} finally {
  await history.close().catch(() => undefined);
  await cluster.close();
}
const summary = summarize(results);
console.log('');
console.log(formatTable(summary));
console.log(JSON.stringify({ bench: 'faults', runsPerFault: opts.runs, jobsPerRun: cases.length, width: opts.width, images: source, totalMs: Date.now() - t0, faults: summary }));
process.exit(exitCode);
