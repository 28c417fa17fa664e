import { FaultCluster } from './test/support/fault-cluster.ts';
import { HistoryReader, runBaseline, runFault } from './test/support/fault-scenarios.ts';
import { sharedCases } from './bench/support/small-cases.ts';
const { cases } = await sharedCases(320);
const c = await FaultCluster.start({ gateways: 2, kernels: 3 });
const h = await HistoryReader.open(c);
try {
  const base = await runBaseline(c, h, cases.slice(0, 2));
  for (let run = 0; run < 6; run++) {
    const mark = c.logMark();
    const r = await runFault(c, h, 'nats-kill', run, cases.slice(0, 2), base, {});
    console.log(`run ${run}: recovery ${r.recoveryMs} ms, ${r.problems.join('; ')}`);
    if ((r.recoveryMs ?? 0) > 20_000) {
      for (const w of c.warningsSince(mark)) console.log('  W', w.slice(0, 260));
      break;
    }
  }
} finally { await h.close(); await c.close(); }
