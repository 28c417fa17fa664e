// bench:subscriptions — 1,000 concurrent graphql-ws subscribers following one running job through
// the real stack (nats-server, a `patchwork gateway` process hosting the job actor, kernel node
// processes). The subscribers run in a child process (bench/support/subscriber-swarm.ts), each on
// its own WebSocket.
//
// Latency of an update = its receipt by a subscriber − the `updatedAt` of the state (the time the
// job's event was stored). `missed` = subscribers that never received the final state (coalesced
// intermediate states are not misses). Goal on the 2-core machine: p99 ≤ 100 ms, missed 0.
//
// The job is created and paused at once, so every subscriber is in before it runs; then resumed.
// Last line: one JSON object with subscribers, updates, p50_ms, p99_ms, missed.
//
// Env: BENCH_SUBSCRIBERS (1000), BENCH_SIZE (e.g. 320x240), BENCH_KERNELS (2), BENCH_KERNEL_NICE (0),
// BENCH_GATEWAY_NODE_FLAGS (node flags for the gateway process, e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/p"; the gateway is then stopped with SIGTERM so the profile is written),
// BENCH_SWARM_NODE_FLAGS (the same for the subscribers' process, which exits by itself).
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { discMask, texturedImage } from '../test/support/images.ts';
import { gql, png, upload } from '../test/support/gateway-client.ts';
import { startStack } from '../test/support/gateway-stack.ts';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const [w, h] = (process.env.BENCH_SIZE ?? '320x240').split('x').map(Number);
const kernels = Number(process.env.BENCH_KERNELS ?? 2);

function metric(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : null;
}

function cpuMsBetween(before: string, after: string): number | null {
  const b = metric(before, 'process_cpu_seconds_total');
  const a = metric(after, 'process_cpu_seconds_total');
  return a !== null && b !== null ? Math.round((a - b) * 1000) : null;
}

/** Mean of a histogram (seconds) over what was observed between two scrapes, in ms. */
function meanMsBetween(before: string, after: string, histogram: string): number | null {
  const sum = (metric(after, `${histogram}_sum`) ?? 0) - (metric(before, `${histogram}_sum`) ?? 0);
  const count = (metric(after, `${histogram}_count`) ?? 0) - (metric(before, `${histogram}_count`) ?? 0);
  return count ? Math.round((sum / count) * 10_000) / 10 : null;
}

const gatewayNodeFlags = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const stack = await startStack({ gateways: 1, kernels, kernelWorkers: 1, gatewayNodeFlags, env: { PATCHWORK_RATE_LIMIT_BURST: '100000', PATCHWORK_RATE_LIMIT_PER_SECOND: '100000', PATCHWORK_MAX_SUBSCRIPTIONS_PER_CONNECTION: '10' } });
// BENCH_KERNEL_NICE (default 0): run kernel nodes at a lower priority, to model kernel nodes on
// machines of their own (as in a cluster) on this one shared 2-core machine.
const kernelNice = Number(process.env.BENCH_KERNEL_NICE ?? 0);
if (kernelNice) for (const k of stack.kernels) setPriority(k.child.pid!, kernelNice);
let exitCode = 0;
try {
  const url = stack.gateways[0].url;
  const image = texturedImage(w, h, 3);
  const mask = discMask(w, h, Math.round(w * 0.55), Math.round(h * 0.5), Math.round(Math.min(w, h) * 0.22));
  const img = await upload(url, await png(image));
  const msk = await upload(url, await png(mask));
  const created = await gql<{ createInpaintJob: { id: string } }>(
    url,
    `mutation($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { id } }`,
    { input: { imageId: img.body.id, maskId: msk.body.id, options: { seed: 1, maxIterations: 30 } } },
  );
  if (!created.data) throw new Error(`create failed: ${JSON.stringify(created.errors)}`);
  const id = created.data.createInpaintJob.id;
  const paused = await gql(url, `mutation { pauseJob(id: "${id}") { status } }`);
  if (paused.errors) throw new Error(`pause failed: ${JSON.stringify(paused.errors)}`);
  console.error(`job ${id} (${w}×${h}) created and paused; starting ${subscribers} subscribers`);

  const loader = `file://${root}/node_modules/tsx/dist/loader.mjs`;
  const swarm = spawn(process.execPath, [...(process.env.BENCH_SWARM_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean), '--import', loader, resolve(root, 'bench/support/subscriber-swarm.ts'), `${url.replace(/^http/, 'ws')}/graphql`, id, String(subscribers), '-', '600000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: swarm.stdout! });
  let summary = '';
  const t0 = performance.now();
  await new Promise<void>((resolveReady, reject) => {
    lines.on('line', (l) => {
      if (l === 'ready') resolveReady();
      else summary = l;
    });
    swarm.once('exit', () => reject(new Error(`swarm exited before ready: ${summary}`)));
  });
  const subscribeMs = performance.now() - t0;
  const metricsReady = await (await fetch(`${url}/metrics`)).text();
  console.error(`all subscribed in ${subscribeMs.toFixed(0)} ms; gateway: ${metric(metricsReady, 'patchwork_gateway_subscriptions')} subscriptions, ${metric(metricsReady, 'patchwork_gateway_job_watches')} upstream job watch(es)`);
  const resumed = await gql(url, `mutation { resumeJob(id: "${id}") { status } }`);
  if (resumed.errors) throw new Error(`resume failed: ${JSON.stringify(resumed.errors)}`);
  const tRun = performance.now();
  await new Promise<void>((r) => swarm.once('exit', () => r()));
  const runMs = performance.now() - tRun;
  const s = JSON.parse(summary) as {
    by_version: Array<{ version: number; n: number; min: number; p50: number; p90: number; p99: number; max: number }>; subscribers: number; distinct_versions: number; p50_ms: number; p99_ms: number; max_ms: number; missed: number; errors: number; received: number; first_error?: string; cpu_ms: number | null };
  for (const v of s.by_version) console.error(`  state v${v.version}: ${v.n} receipts, latency min ${v.min} / p50 ${v.p50} / p90 ${v.p90} / p99 ${v.p99} / max ${v.max} ms`);
  const metricsEnd = await (await fetch(`${url}/metrics`)).text();
  console.error(`job ran ${runMs.toFixed(0)} ms; ${s.received} states delivered, ${s.distinct_versions} distinct; errors ${s.errors}${s.first_error ? ` (${s.first_error})` : ''}`);
  console.error(`gateway sent ${metric(metricsEnd, 'patchwork_gateway_subscription_updates_total')} subscription messages`);
  const out = {
    subscribers: s.subscribers,
    updates: s.distinct_versions,
    p50_ms: s.p50_ms,
    p99_ms: s.p99_ms,
    max_ms: s.max_ms,
    missed: s.missed,
    errors: s.errors,
    delivered: s.received,
    subscribe_all_ms: Math.round(subscribeMs),
    job_ms: Math.round(runMs),
    upstream_watches: metric(metricsReady, 'patchwork_gateway_job_watches'),
    // Stored → the gateway's upstream watch (before the fan-out), mean over the states of the run
    // (the paused state every subscriber got first is not counted).
    gateway_receive_mean_ms: meanMsBetween(metricsReady, metricsEnd, 'patchwork_gateway_job_update_lag_seconds'),
    // The gateway process's CPU time (user + system) from the resume to the last socket closed:
    // the job actor's work, the fan-out and the subscriptions' completion. Less sensitive to
    // other load on the machine than the latencies.
    gateway_cpu_ms: cpuMsBetween(metricsReady, metricsEnd),
    // The subscribers' process, over the same span (its 1,000 clients share the machine too).
    subscribers_cpu_ms: s.cpu_ms,
    // Arrival at the gateway → handed to all 1,000 subscribers, mean over the run's states that
    // reached everyone.
    gateway_fanout_mean_ms: meanMsBetween(metricsReady, metricsEnd, 'patchwork_gateway_subscription_fanout_seconds'),
    image: `${w}x${h}`,
    kernels,
    kernel_nice: kernelNice,
  };
  console.log(JSON.stringify(out));
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  // A profiling gateway writes its profile only on a graceful exit.
  if (gatewayNodeFlags.length) await stack.gateways[0]?.kill('SIGTERM');
  await stack.close();
}
process.exit(exitCode);
