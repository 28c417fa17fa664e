// A local three-server NATS cluster with JetStream for fault tests and benchmarks: each server
// has its own name, store directory, client, route and monitoring port on loopback, and routes to
// the others. Servers can be killed (SIGKILL), stopped (SIGTERM) and started again on the same
// ports and store; `waitHealthy` waits until a JetStream meta leader is elected and every server
// reports its streams and consumers current (the monitoring /healthz), and, given a stream, until
// all its replicas are current. Clients use `urls` (all three) so they fail over.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../src/common/nats.ts';
import { natsServerBinary } from './nats-server.ts';

export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly url: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM (lame duck off: a plain shutdown) and wait for exit. */
  stop(): Promise<void>;
  /** Start again on the same ports and store. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT, for freezing a server. */
  signal(sig: NodeJS.Signals): void;
}

export interface NatsCluster {
  readonly nodes: ClusterNode[];
  /** Every server's client URL, comma-separated (what --nats / PATCHWORK_NATS_URL take). */
  readonly urls: string;
  readonly dir: string;
  /** Meta leader elected, every running server healthy; with `stream`, all its replicas current. */
  waitHealthy(opts?: { stream?: string; timeoutMs?: number }): Promise<void>;
  /** Name of the JetStream meta leader as one running server sees it (undefined if none). */
  metaLeader(): Promise<string | undefined>;
  dispose(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
    } catch {
      return { status: res.status, body: undefined };
    }
  } catch {
    return { status: 0, body: undefined };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startNatsCluster(opts: { size?: number; name?: string } = {}): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'pw-natscluster-'));
  const specs: Array<{ name: string; port: number; clusterPort: number; monitorPort: number; conf: string; store: string }> = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `n${i}`, port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort(), conf: join(dir, `n${i}.conf`), store: join(dir, `n${i}`) });
  }
  const routes = specs.map((s) => `nats-route://127.0.0.1:${s.clusterPort}`);
  for (const s of specs) {
    writeFileSync(
      s.conf,
      [
        `server_name: ${s.name}`,
        `listen: 127.0.0.1:${s.port}`,
        `http: 127.0.0.1:${s.monitorPort}`,
        `jetstream { store_dir: "${s.store}", max_memory_store: 256MB, max_file_store: 4GB }`,
        `cluster { name: ${opts.name ?? 'pwtest'}, listen: 127.0.0.1:${s.clusterPort}, routes: [${routes.join(', ')}] }`,
        '',
      ].join('\n'),
    );
  }

  const nodes: ClusterNode[] = specs.map((s) => {
    let child: ChildProcess | undefined;
    let log = '';
    const launch = (): Promise<void> =>
      new Promise((resolve, reject) => {
        log = '';
        const c = spawn(natsServerBinary(), ['-c', s.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
        child = c;
        const timer = setTimeout(() => {
          c.kill('SIGKILL');
          reject(new Error(`nats-server ${s.name} not ready in 20 s:\n${log}`));
        }, 20_000);
        const onData = (b: Buffer) => {
          // keep only the tail: a long-running server logs route and leader changes
          log = (log + b.toString()).slice(-20_000);
          if (/Server is ready/.test(log)) {
            clearTimeout(timer);
            c.stdout?.off('data', onData);
            c.stderr?.off('data', onData);
            c.stdout?.resume();
            c.stderr?.resume();
            resolve();
          }
        };
        c.stdout?.on('data', onData);
        c.stderr?.on('data', onData);
        c.once('error', (err) => {
          clearTimeout(timer);
          reject(new Error(`cannot start ${natsServerBinary()}: ${err.message}`));
        });
        c.once('exit', (code, sig) => {
          clearTimeout(timer);
          reject(new Error(`nats-server ${s.name} exited (${code ?? sig}) before ready:\n${log}`));
        });
      });
    const node: ClusterNode = {
      name: s.name,
      port: s.port,
      clusterPort: s.clusterPort,
      monitorPort: s.monitorPort,
      url: `nats://127.0.0.1:${s.port}`,
      get pid() {
        return child?.pid;
      },
      get running() {
        return !!child && child.exitCode === null && child.signalCode === null;
      },
      async kill() {
        if (!child) return;
        child.kill('SIGKILL');
        await waitExit(child);
      },
      async stop() {
        if (!child) return;
        child.kill('SIGTERM');
        await waitExit(child);
      },
      async start() {
        if (node.running) return;
        await launch();
      },
      signal(sig) {
        child?.kill(sig);
      },
    };
    return node;
  });

  /** The meta group's leader and how many servers are current in it (only the leader reports its followers). */
  const metaState = async (): Promise<{ leader: string; currentPeers: number } | undefined> => {
    let leader: string | undefined;
    for (const n of nodes) {
      if (!n.running) continue;
      const { body } = await getJson(`http://127.0.0.1:${n.monitorPort}/jsz`);
      const meta = body?.meta_cluster as { leader?: string; replicas?: Array<{ current?: boolean; offline?: boolean }> } | undefined;
      if (!meta?.leader) continue;
      leader = meta.leader;
      if (meta.leader === n.name) return { leader, currentPeers: 1 + (meta.replicas ?? []).filter((r) => r.current && !r.offline).length };
    }
    return leader ? { leader, currentPeers: 1 } : undefined;
  };

  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    dir,
    async metaLeader() {
      return (await metaState())?.leader;
    },
    async waitHealthy(o = {}) {
      const end = Date.now() + (o.timeoutMs ?? 60_000);
      let why = '';
      while (Date.now() < end) {
        why = '';
        const running = nodes.filter((n) => n.running);
        const meta = await metaState();
        if (!meta) why = 'no JetStream meta leader';
        else if (meta.currentPeers < running.length) why = `${meta.currentPeers} of ${running.length} servers current in the JetStream meta group`;
        for (const n of running) {
          if (why) break;
          const h = await getJson(`http://127.0.0.1:${n.monitorPort}/healthz`);
          if (h.status !== 200) why = `${n.name} /healthz ${h.status} ${JSON.stringify(h.body)}`;
        }
        if (!why && o.stream) why = await streamLag(cluster.urls, o.stream, running.length);
        if (!why) return;
        await sleep(200);
      }
      throw new Error(`NATS cluster not healthy in ${o.timeoutMs ?? 60_000} ms: ${why}`);
    },
    async dispose() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.waitHealthy();
    return cluster;
  } catch (err) {
    await cluster.dispose();
    throw err;
  }
}

/** '' when the stream has a leader, every replica (of `expectPeers` servers) is current and a consumer can be made; else why not. */
async function streamLag(urls: string, stream: string, expectPeers: number): Promise<string> {
  const nc = await connectNats({ servers: urls.split(','), name: 'nats-cluster-probe' });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    const info = await jsm.streams.info(stream);
    const c = info.cluster;
    if (!c?.leader) return `stream ${stream} has no leader`;
    const replicas = c.replicas ?? [];
    const current = replicas.filter((r) => r.current && !r.offline);
    if (current.length + 1 < Math.min(expectPeers, info.config.num_replicas)) return `stream ${stream}: ${current.length + 1} of ${info.config.num_replicas} replicas current`;
    // Consumers can be created again (after a server's death this lags behind the health checks).
    if (info.state.messages > 0) {
      const consumer = await jetstream(nc, { timeout: 3_000 }).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      try {
        const m = await consumer.next({ expires: 3_000 });
        if (!m) return `stream ${stream}: an ordered consumer got no message`;
      } finally {
        await consumer.delete().catch(() => undefined);
      }
    }
    return '';
  } catch (err) {
    return `stream ${stream}: ${(err as Error).message}`;
  } finally {
    await nc.close().catch(() => undefined);
  }
}
