// The fault matrix, shared by `npm run test:faults` (bench/faults.ts, many runs) and the CI
// subset (test/fault/cluster-faults.test.ts): each run submits a few jobs through the gateways'
// GraphQL API, injects one fault while they run, waits for every job to end, puts the cluster
// back, and audits the run: every job completed, its result bytes equal the fault-free run's,
// its stored history has no lost or doubled event and no write by a fenced owner, and the kernel
// calls answered beyond those recorded are no more than the calls in flight at the fault.
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import type { FaultCluster, GatewaySlot } from './fault-cluster.ts';
import { auditJournal, readJournal, recoveryAfter, type JobAudit } from './job-audit.ts';

export const FAULTS = ['gateway-kill', 'kernel-kill', 'nats-kill', 'nats-rolling-restart', 'gateway-freeze'] as const;
export type FaultKind = (typeof FAULTS)[number];

export const FAULT_LABELS: Record<FaultKind, string> = {
  'gateway-kill': 'SIGKILL a gateway hosting jobs',
  'kernel-kill': 'SIGKILL a kernel node mid-call',
  'nats-kill': 'SIGKILL one NATS server',
  'nats-rolling-restart': 'restart all NATS servers one by one',
  'gateway-freeze': 'SIGSTOP a gateway past its leases, SIGCONT',
};

export interface JobCase {
  name: string;
  image: Buffer;
  mask: Buffer;
  seed: number;
}

export interface RunResult {
  fault: FaultKind | 'none';
  run: number;
  jobs: number;
  completed: number;
  identical: number;
  lost: number;
  doubled: number;
  staleWrites: number;
  /** Kernel calls answered beyond those recorded in the histories, and the bound. */
  repeatedCalls: number;
  /**
   * The most calls that may be answered without their result being recorded: calls running (or
   * answered in the 250 ms before) at the fault and at every takeover after it, from the nodes'
   * call logs, plus attempts the gateways gave up on and retried (a node may still have answered
   * such an attempt, unseen).
   */
  inFlightAtFault: number;
  /** Worst time from the fault to the next recorded kernel progress of a running job. */
  recoveryMs: number | undefined;
  /** gateway-freeze: the stale owner logged that it lost / was fenced from every job taken from it. */
  staleLetGo?: boolean;
  /** gateway-freeze: jobs the other gateway took from the frozen one. */
  takenOver?: number;
  problems: string[];
  ms: number;
}

export interface Baseline {
  results: Map<string, Buffer>;
  /** Calls answered beyond those recorded in a fault-free run (expected 0). */
  extraCalls: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long before an ownership change a kernel answer counts as possibly not yet stored by its host. */
const APPEND_WINDOW_MS = 250;

// --- the GraphQL API, with timeouts (a frozen gateway must not hang the harness) ---------------

async function gql<T>(base: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; ')}`);
  return body.data as T;
}

export async function uploadImage(base: string, bytes: Uint8Array, token?: string): Promise<string> {
  const res = await fetch(`${base}/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'image/png', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: new Uint8Array(bytes),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { id?: string; error?: { code: string; message: string } };
  if (res.status !== 201 || !body.id) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

export async function createJob(base: string, c: JobCase, token?: string): Promise<string> {
  const imageId = await uploadImage(base, c.image, token);
  const maskId = await uploadImage(base, c.mask, token);
  const d = await gql<{ createInpaintJob: { id: string } }>(base, 'mutation($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { id } }', { input: { imageId, maskId, options: { seed: c.seed } } }, token);
  return d.createInpaintJob.id;
}

export interface JobState {
  id: string;
  status: string;
  result: { id: string; url: string } | null;
  error: { code: string; message: string } | null;
}

export async function jobState(base: string, id: string, token?: string): Promise<JobState> {
  const d = await gql<{ job: JobState }>(base, 'query($id: ID!) { job(id: $id) { id status result { id url } error { code message } } }', { id }, token);
  return d.job;
}

export async function downloadBlob(base: string, url: string, token?: string): Promise<Buffer> {
  const res = await fetch(url.startsWith('http') ? url : `${base}${url}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(30_000) });
  if (res.status !== 200) throw new Error(`download ${url}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELED']);

/** Polls the jobs through whichever gateways answer until every one is terminal. */
export async function waitTerminal(cluster: FaultCluster, ids: readonly string[], timeoutMs: number, token?: string): Promise<Map<string, JobState>> {
  const done = new Map<string, JobState>();
  const end = Date.now() + timeoutMs;
  while (done.size < ids.length) {
    if (Date.now() > end) throw new Error(`${ids.length - done.size} of ${ids.length} jobs not finished in ${timeoutMs} ms`);
    for (const id of ids) {
      if (done.has(id)) continue;
      for (const g of cluster.liveGateways()) {
        try {
          const s = await jobState(g.proc.url, id, token);
          if (TERMINAL.has(s.status)) done.set(id, s);
          break;
        } catch {
          // try the next gateway
        }
      }
    }
    if (done.size < ids.length) await sleep(300);
  }
  return done;
}

// --- the harness's own view of the histories ---------------------------------------------------

export class HistoryReader {
  readonly #nc: NatsConnection;
  readonly #cluster: FaultCluster;
  private constructor(nc: NatsConnection, cluster: FaultCluster) {
    this.#nc = nc;
    this.#cluster = cluster;
  }
  static async open(cluster: FaultCluster): Promise<HistoryReader> {
    return new HistoryReader(await connectNats({ servers: cluster.nats.urls.split(','), name: 'fault-harness' }), cluster);
  }
  async audit(id: string): Promise<JobAudit> {
    for (let attempt = 0; ; attempt++) {
      try {
        return auditJournal(id, await readJournal(this.#nc, this.#cluster.stream, `${this.#cluster.namespace}.${id}.events`));
      } catch (err) {
        if (attempt >= 10) throw err;
        await sleep(500);
      }
    }
  }
  /** Stream info (for checks that the stream runs at 3 replicas). */
  async streamReplicas(): Promise<number> {
    const jsm = await jetstreamManager(this.#nc);
    return (await jsm.streams.info(this.#cluster.stream)).config.num_replicas;
  }
  close(): Promise<void> {
    return this.#nc.close();
  }
}

/** Waits until every job has at least `steps` kernel completions stored (or has ended). */
async function waitProgress(history: HistoryReader, ids: readonly string[], steps: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const audits = await Promise.all(ids.map((id) => history.audit(id)));
    if (audits.every((a) => a.kernelCompleted >= steps || a.terminal)) return;
    if (Date.now() > end) throw new Error(`jobs did not reach ${steps} kernel steps in ${timeoutMs} ms`);
    await sleep(200);
  }
}

// --- runs ------------------------------------------------------------------------------------

interface Submitted {
  id: string;
  c: JobCase;
  gateway: GatewaySlot;
}

async function submit(cluster: FaultCluster, cases: readonly JobCase[]): Promise<Submitted[]> {
  const live = cluster.liveGateways();
  return Promise.all(
    cases.map(async (c, i) => {
      const gateway = live[i % live.length];
      return { id: await createJob(gateway.proc.url, c), c, gateway };
    }),
  );
}

/** A fault-free run: the reference bytes and the calls overhead. */
export async function runBaseline(cluster: FaultCluster, history: HistoryReader, cases: readonly JobCase[], timeoutMs = 300_000): Promise<Baseline & { run: RunResult }> {
  const t0 = Date.now();
  await cluster.healthy();
  const answered0 = cluster.answeredCalls();
  const jobs = await submit(cluster, cases);
  const states = await waitTerminal(cluster, jobs.map((j) => j.id), timeoutMs);
  const results = new Map<string, Buffer>();
  const audits: JobAudit[] = [];
  const problems: string[] = [];
  for (const j of jobs) {
    const s = states.get(j.id)!;
    if (s.status !== 'COMPLETED' || !s.result) {
      problems.push(`${j.c.name}: ${s.status} ${JSON.stringify(s.error)}`);
      continue;
    }
    results.set(j.c.name, await downloadBlob(cluster.liveGateways()[0].proc.url, s.result.url));
    audits.push(await history.audit(j.id));
  }
  await sleep(200);
  const recorded = audits.reduce((n, a) => n + a.kernelCompleted, 0);
  const extraCalls = cluster.answeredCalls() - answered0 - recorded;
  const run: RunResult = {
    fault: 'none',
    run: 0,
    jobs: jobs.length,
    completed: results.size,
    identical: results.size,
    lost: audits.reduce((n, a) => n + a.lost, 0),
    doubled: audits.reduce((n, a) => n + a.doubled, 0),
    staleWrites: audits.reduce((n, a) => n + a.staleWrites, 0),
    repeatedCalls: extraCalls,
    inFlightAtFault: 0,
    recoveryMs: undefined,
    problems: [...problems, ...audits.flatMap((a) => a.problems.map((p) => `${a.id}: ${p}`))],
    ms: Date.now() - t0,
  };
  if (problems.length) throw new Error(`the fault-free run failed: ${problems.join('; ')}`);
  return { results, extraCalls, run };
}

/**
 * Which host id each gateway runs under (not exposed by the gateway: learnt from the jobs' first
 * Activated events, the assignment of hosts to gateways that agrees with the most jobs, since a
 * job can now and then be claimed by the other gateway's scan before its creator activates it),
 * the unfinished jobs with their current host, and the gateway hosting the most of them.
 */
async function hostsOf(cluster: FaultCluster, history: HistoryReader, jobs: readonly Submitted[]) {
  const audits = await Promise.all(jobs.map((j) => history.audit(j.id)));
  const seen = [...new Set(audits.map((a) => a.activations[0]?.host).filter((h): h is string => !!h))];
  const gws = cluster.gateways;
  let best: string[] = [];
  let bestScore = -1;
  const permute = (rest: string[], chosen: string[]): void => {
    if (chosen.length === gws.length || rest.length === 0) {
      const score = jobs.filter((j, i) => chosen[gws.indexOf(j.gateway)] === audits[i].activations[0]?.host).length;
      if (score > bestScore) [best, bestScore] = [chosen, score];
      return;
    }
    for (const h of rest) permute(rest.filter((x) => x !== h), [...chosen, h]);
  };
  permute(seen, []);
  const hostOf = new Map(gws.map((g, i) => [g, best[i]] as const));
  const running = jobs.map((j, i) => ({ id: j.id, host: audits[i].activations.at(-1)?.host, terminal: !!audits[i].terminal })).filter((r) => !r.terminal);
  return {
    hostOf,
    running,
    busiest(run: number): GatewaySlot {
      const n = gws.length;
      const count = (g: GatewaySlot) => running.filter((r) => r.host === hostOf.get(g)).length;
      let pick = gws[run % n];
      for (let k = 0; k < n; k++) {
        const g = gws[(run + k) % n];
        if (count(g) > count(pick)) pick = g;
      }
      return pick;
    },
  };
}

function logMentions(lines: readonly string[], id: string): boolean {
  return lines.some((l) => l.includes(id) && (l.includes('lease lost to another host') || l.includes('append fenced')));
}

export interface RunOptions {
  /** Kernel completions each job must have stored before the fault. Default 3. */
  progressSteps?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** One run of one fault. Never throws for a broken invariant: the result records it. */
export async function runFault(cluster: FaultCluster, history: HistoryReader, kind: FaultKind, run: number, cases: readonly JobCase[], baseline: Baseline, o: RunOptions = {}): Promise<RunResult> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const problems: string[] = [];
  await cluster.healthy();
  const answered0 = cluster.answeredCalls();
  const jobs = await submit(cluster, cases);
  const ids = jobs.map((j) => j.id);
  const gatewayLogMarks = new Map(cluster.allGatewayProcs.map((g) => [g, g.log.length]));
  // A kernel node is killed as soon as it has a call in flight: the jobs need only have started.
  await waitProgress(history, ids, kind === 'kernel-kill' ? 1 : (o.progressSteps ?? 3), 120_000);

  const faults: number[] = [];
  /** Kernel node processes alive before the fault: any that dies on its own (not the kernel-kill victim) is a problem. */
  const kernelsBefore = cluster.kernels.map((k) => k.proc);
  let killedKernel: unknown;
  let staleLetGo: boolean | undefined;
  let takenOver: number | undefined;
  let victimGateway: GatewaySlot | undefined;
  switch (kind) {
    case 'gateway-kill': {
      victimGateway = (await hostsOf(cluster, history, jobs)).busiest(run);
      faults.push(Date.now());
      await cluster.killGateway(victimGateway);
      break;
    }
    case 'kernel-kill': {
      // mid-call: wait (briefly) for a node with a call in flight
      let victim = cluster.kernels[run % cluster.kernels.length];
      let midCall = false;
      // (a few quick looks: waiting longer lets short jobs finish before the kill)
      for (let i = 0; i < 15; i++) {
        const byNode = await cluster.inFlightByNode();
        const busy = byNode.findIndex((n) => n > 0);
        if (busy >= 0) {
          victim = cluster.kernels[busy];
          midCall = true;
          break;
        }
        await sleep(20);
      }
      faults.push(Date.now());
      killedKernel = victim.proc;
      await cluster.killKernel(victim);
      log(`  killed kernel ${victim.id} (${midCall ? 'with calls in flight' : 'no call seen in flight'})`);
      break;
    }
    case 'nats-kill': {
      const victim = cluster.nats.nodes[run % cluster.nats.nodes.length];
      faults.push(Date.now());
      await victim.kill();
      log(`  killed NATS ${victim.name}`);
      break;
    }
    case 'nats-rolling-restart': {
      for (const n of cluster.nats.nodes) {
        faults.push(Date.now());
        await n.stop();
        await n.start();
        await cluster.nats.waitHealthy({ stream: cluster.stream, timeoutMs: 60_000 });
        log(`  restarted NATS ${n.name}`);
      }
      break;
    }
    case 'gateway-freeze': {
      const hosts = await hostsOf(cluster, history, jobs);
      victimGateway = hosts.busiest(run);
      const victimHost = hosts.hostOf.get(victimGateway);
      // the jobs the frozen gateway hosts (a job may have been claimed by the other gateway first)
      const mine = hosts.running.filter((r) => r.host === victimHost).map((r) => r.id);
      faults.push(Date.now());
      cluster.freezeGateway(victimGateway);
      // until the other gateway has taken every unfinished job of the frozen one and recorded progress
      const takenAt = Date.now();
      const taken = new Set<string>();
      for (;;) {
        const audits = await Promise.all(mine.map((id) => history.audit(id)));
        let pending = 0;
        for (const a of audits) {
          const last = a.activations[a.activations.length - 1];
          if (last && last.host !== victimHost) {
            taken.add(a.id);
            if (!a.terminal && !a.kernelCompletionTimes.some((t) => t > last.at)) pending++;
          } else if (!a.terminal) pending++;
        }
        if (pending === 0) break;
        if (Date.now() - takenAt > 90_000) {
          problems.push(`frozen gateway's jobs not taken over in 90 s (${taken.size} of ${mine.length})`);
          break;
        }
        await sleep(250);
      }
      log(`  ${taken.size} job(s) taken from the frozen gateway in ${Date.now() - takenAt} ms`);
      cluster.thawGateway(victimGateway);
      // the stale owner must notice (a fenced append or a lost lease renewal) and let go
      const lines = victimGateway.proc.log;
      const end = Date.now() + 20_000;
      while (Date.now() < end && ![...taken].every((id) => logMentions(lines, id))) await sleep(200);
      staleLetGo = [...taken].every((id) => logMentions(lines, id));
      takenOver = taken.size;
      if (!staleLetGo) problems.push(`the thawed gateway did not report losing ${[...taken].filter((id) => !logMentions(lines, id)).join(', ')}`);
      break;
    }
  }

  let states: Map<string, JobState>;
  try {
    states = await waitTerminal(cluster, ids, o.timeoutMs ?? 300_000);
  } catch (err) {
    problems.push((err as Error).message);
    states = new Map();
  }
  for (const p of kernelsBefore) {
    if (p === killedKernel || (p.child.exitCode === null && p.child.signalCode === null)) continue;
    const why = p.log.filter((l) => !l.startsWith('{') && l.trim()).slice(0, 3).join(' / ');
    problems.push(`kernel node ${p.id} exited on its own (${p.child.exitCode ?? p.child.signalCode})${why ? `: ${why.slice(0, 300)}` : ''}`);
  }
  await cluster.restore();

  let completed = 0;
  let identical = 0;
  const audits: JobAudit[] = [];
  for (const j of jobs) {
    const s = states.get(j.id);
    audits.push(await history.audit(j.id));
    if (!s) continue;
    if (s.status !== 'COMPLETED' || !s.result) {
      problems.push(`${j.c.name} ${j.id}: ${s.status} ${JSON.stringify(s.error)}`);
      continue;
    }
    completed++;
    const bytes = await downloadBlob(cluster.liveGateways()[0].proc.url, s.result.url);
    if (bytes.equals(baseline.results.get(j.c.name)!)) identical++;
    else problems.push(`${j.c.name} ${j.id}: result bytes differ from the fault-free run`);
  }
  for (const a of audits) for (const p of a.problems) problems.push(`${a.id}: ${p}`);
  const recorded = audits.reduce((n, a) => n + a.kernelCompleted, 0);
  const repeatedCalls = cluster.answeredCalls() - answered0 - recorded;
  let retried = 0;
  for (const g of cluster.allGatewayProcs) for (const l of g.log.slice(gatewayLogMarks.get(g) ?? 0)) if (l.includes('kernel call failed; retrying') && l.includes('"attempt"')) retried++;
  // The calls a new owner may run again are those in flight (running, or answered but maybe not
  // yet stored) at an ownership change: the fault itself, and every takeover after it (a NATS
  // outage can make a live host's lease renewals fail and its jobs move). Counted from the nodes'
  // call logs (time and duration of each answer), so calls never answered do not count.
  // For a takeover the window reaches back to the previous owner's last stored message: a call
  // answered after that can never have been recorded (during a NATS outage a host keeps running
  // steps while its appends wait, up to its unacked-events cap, and then gives the job up).
  const instants = [
    ...faults.map((at) => ({ at, windowMs: APPEND_WINDOW_MS })),
    ...audits.flatMap((a) => a.activations.slice(1).map((x) => ({ at: x.at, windowMs: Math.max(APPEND_WINDOW_MS, x.at - x.lastStoredBefore) }))).filter((x) => x.at >= faults[0]),
  ];
  const spanning = instants.reduce((n, x) => n + cluster.answeredAround(x.at, x.windowMs), 0);
  // (plus what a fault-free run answers beyond its records: calls abandoned by design, e.g. a step
  // whose result was no longer needed)
  // (plus kernel activity attempts that failed and were tried again, e.g. an output registration
  // that failed after the node answered: the history records each activity's attempts)
  const activityRetries = audits.reduce((n, a) => n + a.kernelRetriedAttempts, 0);
  const inFlight = spanning + retried + activityRetries + baseline.extraCalls;
  if (repeatedCalls > inFlight) problems.push(`${repeatedCalls} kernel calls answered beyond those recorded, more than the ${inFlight} in flight at the fault and at ${instants.length - faults.length} takeovers after it, ${retried} client retries, ${activityRetries} activity retries`);
  const recoveries = audits.map((a) => recoveryAfter(a.kernelCompletionTimes, faults)).filter((x): x is number => x !== undefined);
  return {
    fault: kind,
    run,
    jobs: jobs.length,
    completed,
    identical,
    lost: audits.reduce((n, a) => n + a.lost, 0),
    doubled: audits.reduce((n, a) => n + a.doubled, 0),
    staleWrites: audits.reduce((n, a) => n + a.staleWrites, 0),
    repeatedCalls,
    inFlightAtFault: inFlight,
    recoveryMs: recoveries.length ? Math.max(...recoveries) : undefined,
    ...(staleLetGo !== undefined ? { staleLetGo, takenOver } : {}),
    problems,
    ms: Date.now() - t0,
  };
}

/** A run passes when every invariant held. */
export function passed(r: RunResult): boolean {
  return r.completed === r.jobs && r.identical === r.jobs && r.lost === 0 && r.doubled === 0 && r.staleWrites === 0 && r.repeatedCalls <= r.inFlightAtFault && r.staleLetGo !== false && r.problems.length === 0;
}

// --- the table --------------------------------------------------------------------------------

export interface FaultSummary {
  fault: FaultKind;
  runs: number;
  jobs: number;
  completed: number;
  identical: number;
  eventsLost: number;
  eventsDoubled: number;
  staleWrites: number;
  repeatedCalls: number;
  inFlightAtFaults: number;
  recoveryMedianMs: number | null;
  recoveryMaxMs: number | null;
  passedRuns: number;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

export function summarize(results: readonly RunResult[]): FaultSummary[] {
  const out: FaultSummary[] = [];
  for (const fault of FAULTS) {
    const rs = results.filter((r) => r.fault === fault);
    if (rs.length === 0) continue;
    const rec = rs.map((r) => r.recoveryMs).filter((x): x is number => x !== undefined);
    out.push({
      fault,
      runs: rs.length,
      jobs: rs.reduce((n, r) => n + r.jobs, 0),
      completed: rs.reduce((n, r) => n + r.completed, 0),
      identical: rs.reduce((n, r) => n + r.identical, 0),
      eventsLost: rs.reduce((n, r) => n + r.lost, 0),
      eventsDoubled: rs.reduce((n, r) => n + r.doubled, 0),
      staleWrites: rs.reduce((n, r) => n + r.staleWrites, 0),
      repeatedCalls: rs.reduce((n, r) => n + r.repeatedCalls, 0),
      inFlightAtFaults: rs.reduce((n, r) => n + r.inFlightAtFault, 0),
      recoveryMedianMs: median(rec),
      recoveryMaxMs: rec.length ? Math.max(...rec) : null,
      passedRuns: rs.filter(passed).length,
    });
  }
  return out;
}

export function formatTable(rows: readonly FaultSummary[]): string {
  const head = ['fault', 'runs', 'passed', 'completed', 'identical', 'events lost', 'events doubled', 'stale writes', 'calls rerun / in flight', 'recovery median', 'recovery max'];
  const cells = rows.map((r) => [
    FAULT_LABELS[r.fault],
    String(r.runs),
    `${r.passedRuns}/${r.runs}`,
    `${r.completed}/${r.jobs}`,
    `${r.identical}/${r.jobs}`,
    String(r.eventsLost),
    String(r.eventsDoubled),
    String(r.staleWrites),
    `${r.repeatedCalls} / ${r.inFlightAtFaults}`,
    r.recoveryMedianMs === null ? '-' : `${(r.recoveryMedianMs / 1000).toFixed(2)} s`,
    r.recoveryMaxMs === null ? '-' : `${(r.recoveryMaxMs / 1000).toFixed(2)} s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
