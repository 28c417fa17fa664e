// Benchmark of the actor runtime against a real nats-server with a file store. Prints a table,
// then ONE JSON line (the last line) with every figure. Baselines measured in the same process
// (a bare JetStream publish with the expected-sequence header, pipelined publishes, a macrotask
// hop) give the ratios meaning on a noisy machine.
//
//   npm run bench:orchestration
//
// What each figure measures:
// - raise_event_ns_*: raising external events to a waiting orchestration in memory, no I/O: the
//   executor applies the event, the orchestration runs its next line and waits again (one round
//   at a time, not batched). _two_different: two events of different names awaited together;
//   _two_same: two of one name. Recording costs (msgpack encoding) are not included; they are
//   reported separately as encode_event_ns.
// - event_to_continue_*: client.raiseEvent (a durable JetStream publish to the inbox) until the
//   waiting orchestration runs its next line, 200 events one after another.
// - steps_for_100_chain: times the orchestration code was resumed for a 100-activity chain.
// - seq/parallel_activities_per_s: 1,000 sequential / 5,000 parallel no-op activities in one
//   orchestration, from start until its completion is stored and the index says COMPLETED.
//   *_strict: the same with durability 'strict' (no step dispatched before the result it
//   follows is stored).
// - append_p50/p99_ms: the journal writer's append (encode, fenced publish, ack) one at a time.
// - recovery_ms_10k_events: a host takes over an instance with 10,000 completed activities, from
//   its claim until the next activity runs (read, replay, Activated append).
// - lease_timeout_ms: from a host crash until another host (default settings) claims the
//   instance: the lease TTL plus the orphan scan interval.
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { connectNats } from '../src/common/nats.ts';
import { ActorHost, InProcessDispatcher, type HostOptions, type OrchestrationContext, type OrchestrationRegistry } from '../src/actors/index.ts';
import { encodeEvent } from '../src/actors/codec.ts';
import { JournalWriter } from '../src/actors/journal.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { MemorySink, newExecutor } from '../test/support/memory-sink.ts';
import { uniqueNamespace } from '../test/support/actors.ts';

const quiet = pino({ level: process.env.PATCHWORK_LOG_LEVEL ?? 'silent' });
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs: number[]) => pct(xs, 50);
const round = (x: number, d = 3) => Number(x.toFixed(d));
const tick = () => new Promise<void>((r) => setImmediate(r));

// --- in memory ------------------------------------------------------------------------------------

async function raiseInMemory(kind: 'one' | 'two_different' | 'two_same', rounds: number): Promise<number> {
  let consumed = 0;
  const names = kind === 'one' ? ['a'] : kind === 'two_different' ? ['a', 'b'] : ['a', 'a'];
  const fn = async (ctx: OrchestrationContext) => {
    for (let i = 0; i < rounds; i++) {
      if (names.length === 1) await ctx.waitForEvent('a');
      else await Promise.all([ctx.waitForEvent(names[0]), ctx.waitForEvent(names[1])]);
      consumed++;
    }
  };
  const sink = new MemorySink();
  sink.discard = true;
  const { executor } = newExecutor(fn as never, undefined, { sink });
  executor.start();
  await tick();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    for (const name of names) executor.runTurn([{ event: { type: 'EventRaised', eid: '', name }, value: i }]);
    // the orchestration runs its next line and waits again before the next round is raised
    while (consumed <= i) await null;
  }
  const ns = Number(process.hrtime.bigint() - t0) / rounds;
  await tick();
  if (sink.outcome?.kind !== 'completed') throw new Error('in-memory orchestration did not complete');
  return ns;
}

/** The floor: a bare promise resolved and awaited one round at a time (one or two at once). */
async function promiseRoundTrip(two: boolean, rounds: number): Promise<number> {
  let r1: () => void = () => {};
  let r2: () => void = () => {};
  let consumed = 0;
  void (async () => {
    for (let i = 0; i < rounds; i++) {
      if (two) await Promise.all([new Promise<void>((r) => (r1 = r)), new Promise<void>((r) => (r2 = r))]);
      else await new Promise<void>((r) => (r1 = r));
      consumed++;
    }
  })();
  await tick();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    r1();
    if (two) r2();
    while (consumed <= i) await null;
  }
  return Number(process.hrtime.bigint() - t0) / rounds;
}

function encodeCost(n: number): number {
  const v = new Uint8Array([0xa1, 0x78]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) encodeEvent({ type: 'EventRaised', eid: 'b6c1f0a2-5d0e-4a43-9d5b-6a8d7c2f9e10', name: 'a', v, turn: i });
  return Number(process.hrtime.bigint() - t0) / n;
}

async function macrotaskNs(n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await tick();
  return Number(process.hrtime.bigint() - t0) / n;
}

// --- baselines on JetStream ---------------------------------------------------------------------

async function bareAppends(js: JetStreamClient, subject: string, n: number): Promise<number[]> {
  let last = 0;
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    last = (await js.publish(subject, new Uint8Array(40), { expect: { lastSubjectSequence: last } })).seq;
    lat.push(performance.now() - t);
  }
  return lat;
}

async function pipelinedPublishesPerS(js: JetStreamClient, prefix: string, n: number): Promise<number> {
  const t = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => js.publish(`${prefix}.p${i % 64}.events`, new Uint8Array(40))));
  return n / ((performance.now() - t) / 1000);
}

async function journalAppends(js: JetStreamClient, nc: NatsConnection, subject: string, n: number): Promise<number[]> {
  const w = new JournalWriter({ js, nc, subject, instanceId: 'bench', lastSeq: 0, writerId: `bench-${subject}`, onFenced: () => {}, onFailed: () => {} });
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    w.push({ type: 'Now', seq: i + 1, t: i });
    await w.sync();
    lat.push(performance.now() - t);
  }
  return lat;
}

// --- the runtime --------------------------------------------------------------------------------

const marks: number[] = [];
let gateStarted: (() => void) | undefined;

const orchestrations = {
  seq: async (ctx: OrchestrationContext, n: number) => {
    for (let i = 0; i < n; i++) await ctx.call('noop');
    return n;
  },
  par: async (ctx: OrchestrationContext, n: number) => {
    await Promise.all(Array.from({ length: n }, () => ctx.call('noop')));
    return n;
  },
  listener: async (ctx: OrchestrationContext, n: number) => {
    for (let i = 0; i < n; i++) {
      await ctx.waitForEvent('e');
      // Benchmark instrumentation only: real orchestrations never read the clock directly.
      marks.push(performance.now());
    }
  },
  gated: async (ctx: OrchestrationContext, n: number) => {
    for (let i = 0; i < n; i++) await ctx.call('noop');
    await ctx.call('gate');
  },
} as unknown as OrchestrationRegistry;

const dispatcher = new InProcessDispatcher({
  noop: () => undefined,
  gate: () => {
    gateStarted?.();
    return new Promise(() => {}); // never finishes: the host "crashes" while it runs
  },
});

async function newHost(url: string, namespace: string, extra: Partial<HostOptions> = {}): Promise<{ host: ActorHost; nc: NatsConnection }> {
  const nc = await connectNats({ servers: url, name: 'bench' });
  const host = await ActorHost.create({ connection: nc, namespace, orchestrations, dispatcher, logger: quiet, ...extra });
  return { host, nc };
}

async function runToCompletion(host: ActorHost, name: string, input: number): Promise<{ ms: number; turns: number; events: number; appends: number }> {
  const t = performance.now();
  const { id } = await host.startInstance(name, input);
  const st = await host.client.waitForCompletion(id, { timeoutMs: 120_000 });
  const ms = performance.now() - t;
  if (st.status !== 'COMPLETED') throw new Error(`${name} ended ${st.status}: ${st.error?.message}`);
  return { ms, turns: st.stats?.turns ?? -1, events: st.stats?.events ?? -1, appends: st.stats?.appends ?? -1 };
}

async function main(): Promise<void> {
  const server = await startNatsServer();
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const ns = uniqueNamespace('bench');
    const nc = await connectNats({ servers: server.url, name: 'bench-baseline' });
    cleanup.push(() => nc.close());
    const { host } = await newHost(server.url, ns);
    await host.start();
    const js = jetstream(nc);
    // the runtime's stream exists now; baselines publish to subjects it captures
    const stream = host.storage.names;

    // baselines
    await bareAppends(js, stream.historySubject('warm'), 300);
    const bare = await bareAppends(js, stream.historySubject('bare'), 2_000);
    const pipelined = await pipelinedPublishesPerS(js, ns, 12_000);
    const hop = await macrotaskNs(20_000);

    // in memory
    await raiseInMemory('one', 20_000);
    const raiseOne = median([await raiseInMemory('one', 100_000), await raiseInMemory('one', 100_000), await raiseInMemory('one', 100_000)]);
    const raiseTwoDiff = median([await raiseInMemory('two_different', 100_000), await raiseInMemory('two_different', 100_000), await raiseInMemory('two_different', 100_000)]);
    const raiseTwoSame = median([await raiseInMemory('two_same', 100_000), await raiseInMemory('two_same', 100_000), await raiseInMemory('two_same', 100_000)]);
    const encodeNs = encodeCost(100_000);
    const floorOne = median([await promiseRoundTrip(false, 100_000), await promiseRoundTrip(false, 100_000), await promiseRoundTrip(false, 100_000)]);
    const floorTwo = median([await promiseRoundTrip(true, 100_000), await promiseRoundTrip(true, 100_000), await promiseRoundTrip(true, 100_000)]);

    // journal appends
    await journalAppends(js, nc, stream.historySubject('jwarm'), 300);
    const appends = await journalAppends(js, nc, stream.historySubject('journal'), 2_000);

    // durable event to continue
    const { id: listener } = await host.startInstance('listener', 210);
    const lat: number[] = [];
    for (let i = 0; i < 210; i++) {
      const t = performance.now();
      await host.client.raiseEvent(listener, 'e', i);
      while (marks.length <= i) await new Promise((r) => setImmediate(r));
      if (i >= 10) lat.push(marks[i] - t); // the first 10 warm up
    }

    // steps and throughput
    await runToCompletion(host, 'seq', 200);
    const chain100 = await runToCompletion(host, 'seq', 100);
    const seqRuns = [await runToCompletion(host, 'seq', 1_000), await runToCompletion(host, 'seq', 1_000), await runToCompletion(host, 'seq', 1_000)];
    const parRuns = [await runToCompletion(host, 'par', 5_000), await runToCompletion(host, 'par', 5_000), await runToCompletion(host, 'par', 5_000)];
    const strict = await newHost(server.url, ns, { durability: 'strict', claim: false });
    cleanup.push(() => strict.nc.close());
    const seqStrict = [await runToCompletion(strict.host, 'seq', 1_000), await runToCompletion(strict.host, 'seq', 1_000)];
    const parStrict = [await runToCompletion(strict.host, 'par', 5_000), await runToCompletion(strict.host, 'par', 5_000)];
    const seqMs = median(seqRuns.map((r) => r.ms));
    const parMs = median(parRuns.map((r) => r.ms));

    // recovery of a 10,000-event history: host A runs it up to the gate and "crashes"
    const recNs = uniqueNamespace('rec');
    const recoveries: number[] = [];
    let historyMessages = 0;
    let recId = '';
    {
      const a = await newHost(server.url, recNs, { claim: false });
      let started = new Promise<void>((r) => (gateStarted = r));
      recId = (await a.host.startInstance('gated', 10_000)).id;
      await started;
      await a.host.instance(recId)!.journalStats; // settle
      await new Promise((r) => setTimeout(r, 300));
      historyMessages = (await a.host.client.history(recId, { limit: 1 })).events.length;
      a.host.halt();
      await a.nc.close();
      for (let round = 0; round < 4; round++) {
        const b = await newHost(server.url, recNs, { claim: false });
        started = new Promise<void>((r) => (gateStarted = r));
        const t0 = performance.now();
        void b.host.seize(recId);
        await started;
        const ms = performance.now() - t0;
        if (round > 0) recoveries.push(ms); // round 0 warms the code paths up
        b.host.halt();
        await b.nc.close();
      }
      const c = await newHost(server.url, recNs, { claim: false });
      const msgs = await c.host.storage.jsm.streams.info(c.host.storage.names.stream, { subjects_filter: c.host.storage.names.historySubject(recId) });
      historyMessages = msgs.state.subjects?.[c.host.storage.names.historySubject(recId)] ?? -1;
      await c.nc.close();
    }

    // lease timeout after a crash, default host settings
    const leaseNs = uniqueNamespace('lease');
    const crashed = await newHost(server.url, leaseNs);
    await crashed.host.start();
    const { id: orphan } = await crashed.host.startInstance('listener', 1);
    const taker = await newHost(server.url, leaseNs);
    await taker.host.start();
    const claimed = new Promise<number>((r) => taker.host.on('activated', (x) => x === orphan && r(performance.now())));
    const crashAt = performance.now();
    crashed.host.halt();
    const leaseTimeout = (await claimed) - crashAt;
    taker.host.halt();
    await crashed.nc.close();
    await taker.nc.close();
    host.halt();

    const figures = {
      raise_event_ns_one: round(raiseOne, 1),
      raise_event_ns_two_different: round(raiseTwoDiff, 1),
      raise_event_ns_two_same: round(raiseTwoSame, 1),
      event_to_continue_p50_ms: round(pct(lat, 50)),
      event_to_continue_p99_ms: round(pct(lat, 99)),
      steps_for_100_chain: chain100.turns,
      seq_activities_per_s: Math.round(1_000 / (seqMs / 1000)),
      parallel_activities_per_s: Math.round(5_000 / (parMs / 1000)),
      append_p50_ms: round(pct(appends, 50)),
      append_p99_ms: round(pct(appends, 99)),
      recovery_ms_10k_events: round(median(recoveries), 1),
      lease_timeout_ms: Math.round(leaseTimeout),
      // context and baselines
      seq_activities_per_s_strict: Math.round(1_000 / (median(seqStrict.map((r) => r.ms)) / 1000)),
      parallel_activities_per_s_strict: Math.round(5_000 / (median(parStrict.map((r) => r.ms)) / 1000)),
      encode_event_ns: round(encodeNs, 1),
      baseline_promise_round_trip_ns: round(floorOne, 1),
      baseline_promise_all2_round_trip_ns: round(floorTwo, 1),
      raise_event_one_ratio_to_promise: round(raiseOne / floorOne, 2),
      raise_event_two_different_ratio_to_promise_all2: round(raiseTwoDiff / floorTwo, 2),
      baseline_bare_append_p50_ms: round(pct(bare, 50)),
      baseline_bare_append_p99_ms: round(pct(bare, 99)),
      baseline_pipelined_publishes_per_s: Math.round(pipelined),
      baseline_macrotask_hop_ns: round(hop, 1),
      append_p50_ratio_to_bare: round(pct(appends, 50) / pct(bare, 50), 2),
      seq_activities_per_bare_append_rate: round(1_000 / (seqMs / 1000) / (1000 / pct(bare, 50)), 2),
      parallel_activities_per_pipelined_publish_rate: round(5_000 / (parMs / 1000) / pipelined, 2),
      events_per_append_seq_1000: round(seqRuns[0].events / seqRuns[0].appends, 1),
      recovery_history_messages: historyMessages,
      lease_ttl_ms_default: 5_000,
    };

    const goals: Record<string, [string, (v: number) => boolean]> = {
      raise_event_ns_one: ['<= 250', (v) => v <= 250],
      raise_event_ns_two_different: ['<= 600', (v) => v <= 600],
      raise_event_ns_two_same: ['<= 600', (v) => v <= 600],
      event_to_continue_p50_ms: ['<= 1', (v) => v <= 1],
      event_to_continue_p99_ms: ['<= 3', (v) => v <= 3],
      steps_for_100_chain: ['<= 101', (v) => v <= 101],
      seq_activities_per_s: ['>= 1000', (v) => v >= 1000],
      parallel_activities_per_s: ['>= 5000', (v) => v >= 5000],
      append_p50_ms: ['<= 0.5', (v) => v <= 0.5],
      recovery_ms_10k_events: ['<= 300', (v) => v <= 300],
    };
    const rows = Object.entries(figures).map(([k, v]) => {
      const g = goals[k];
      return { metric: k, value: v, goal: g ? g[0] : '', met: g ? (g[1](v) ? 'yes' : 'NO') : '' };
    });
    const w = Math.max(...rows.map((r) => r.metric.length));
    console.log(`${'metric'.padEnd(w)}  ${'value'.padStart(12)}  ${'goal'.padEnd(8)}  met`);
    for (const r of rows) console.log(`${r.metric.padEnd(w)}  ${String(r.value).padStart(12)}  ${r.goal.padEnd(8)}  ${r.met}`);
    console.log(JSON.stringify(figures));
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await server.dispose();
  }
}

await main();
process.exit(0);
