// Child process of bench:subscriptions: N graphql-ws clients, each on its own WebSocket, all
// subscribed to one job. Run apart from the gateway so the clients' CPU does not hide inside the
// server's measurements (they still share the machine's two cores).
//
// For every state received: latency = receipt time − the state's `updatedAt` (when its event was
// stored). Prints `ready` once every subscription delivered its first state, then one JSON line
// when all subscriptions completed (or the deadline passed).
//
// argv: <ws url> <job id> <subscribers> <token|-> <deadline ms>
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const [url, jobId, countArg, tokenArg, deadlineArg] = process.argv.slice(2);
const count = Number(countArg);
const token = tokenArg === '-' ? undefined : tokenArg;
const deadlineMs = Number(deadlineArg ?? 300_000);

const QUERY = `subscription($id: ID!) { jobUpdates(id: $id) { id status progress level iteration version updatedAt preview { id url } result { id url } } }`;

interface Update {
  status: string;
  version: number;
  updatedAt: string;
}

const latencies: number[] = [];
const finalSeen = new Array<boolean>(count).fill(false);
const firstSeen = new Array<boolean>(count).fill(false);
const versionsSeen = new Set<number>();
/** Latencies by state version: is a state late for everyone (the pipeline) or spread (the fan-out)? */
const byVersion = new Map<number, number[]>();
let errors = 0;
let firstErrors = '';
let received = 0;
let readyPrinted = false;
let live = false; // measure only once every subscriber is in
let cpuAtLive: NodeJS.CpuUsage | null = null;

const clients: Client[] = [];
const done: Array<Promise<void>> = [];

function connectOne(i: number): void {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 5,
    lazy: true,
  });
  clients.push(client);
  done.push(
    new Promise<void>((resolve) => {
      client.subscribe<{ jobUpdates: Update }>(
        { query: QUERY, variables: { id: jobId } },
        {
          next: (msg) => {
            const now = Date.now();
            const u = msg.data?.jobUpdates;
            if (!u) {
              errors++;
              if (!firstErrors) firstErrors = JSON.stringify(msg.errors);
              return;
            }
            received++;
            if (live) {
              const ms = now - Date.parse(u.updatedAt);
              latencies.push(ms);
              versionsSeen.add(u.version);
              let list = byVersion.get(u.version);
              if (!list) byVersion.set(u.version, (list = []));
              list.push(ms);
            }
            if (!firstSeen[i]) {
              firstSeen[i] = true;
              maybeReady();
            }
            if (u.status === 'COMPLETED' || u.status === 'FAILED' || u.status === 'CANCELED') finalSeen[i] = true;
          },
          error: (e) => {
            errors++;
            if (!firstErrors) firstErrors = String((e as Error)?.message ?? JSON.stringify(e));
            resolve();
          },
          complete: () => resolve(),
        },
      );
    }),
  );
}

let firstCount = 0;
function maybeReady(): void {
  firstCount++;
  if (!readyPrinted && firstCount === count) {
    readyPrinted = true;
    live = true;
    cpuAtLive = process.cpuUsage();
    process.stdout.write('ready\n');
  }
}

// Connect in small batches so the server's accept queue is not flooded at once.
for (let i = 0; i < count; i++) {
  connectOne(i);
  if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
}

const deadline = new Promise<void>((r) => setTimeout(r, deadlineMs).unref());
await Promise.race([Promise.all(done), deadline]);
latencies.sort((a, b) => a - b);
const q = (p: number): number | null => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null);
process.stdout.write(
  JSON.stringify({
    subscribers: count,
    subscribed: firstSeen.filter(Boolean).length,
    received,
    measured: latencies.length,
    distinct_versions: versionsSeen.size,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    max_ms: latencies.length ? latencies[latencies.length - 1] : null,
    missed: finalSeen.filter((f) => !f).length,
    errors,
    first_error: firstErrors || undefined,
    // This process's CPU time from the moment every subscriber was in to the end (user + system).
    cpu_ms: cpuAtLive ? Math.round(((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpuAtLive))) : null,
    by_version: [...byVersion].sort((a, b) => a[0] - b[0]).map(([version, l]) => {
      l.sort((a, b) => a - b);
      return { version, n: l.length, min: l[0], p50: l[Math.floor(l.length / 2)], p90: l[Math.floor(l.length * 0.9)], p99: l[Math.floor(l.length * 0.99)], max: l[l.length - 1] };
    }),
  }) + '\n',
);
await Promise.all(clients.map((c) => c.dispose()));
process.exit(0);
