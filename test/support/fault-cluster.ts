// The multi-process cluster the fault suite and the load benchmark run against, all on loopback:
// a three-server NATS cluster (streams, KV and object store at 3 replicas), kernel node processes
// (`patchwork kernel`) and gateway processes (`patchwork gateway`, each hosting job actors), every
// client given all three NATS URLs. Processes can be killed, frozen and replaced; `healthy()`
// waits until everything is back. Kernel nodes log at debug level so every answered call leaves a
// "call done" line: the count survives a node being killed (the lines are kept here).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGateway, waitReady, type GatewayProcess } from './gateway-stack.ts';
import { metricValue, spawnKernelNode, type KernelNodeProcess } from './kernel-node.ts';
import { startNatsCluster, type NatsCluster } from './nats-cluster.ts';

export interface FaultClusterOptions {
  gateways?: number;
  kernels?: number;
  kernelWorkers?: number;
  /** Extra gateway env (tokens, caps). */
  gatewayEnv?: Record<string, string>;
  replicas?: number;
}

export interface GatewaySlot {
  index: number;
  proc: GatewayProcess;
  frozen: boolean;
}

export interface KernelSlot {
  id: string;
  proc: KernelNodeProcess;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pino line shortened to time, message, instance and error message. */
function brief(line: string): string {
  try {
    const j = JSON.parse(line) as { time?: number; msg?: string; instance?: string; part?: string; method?: string; err?: { message?: string } | string };
    const err = typeof j.err === 'string' ? j.err : j.err?.message;
    const extra = ['ms', 'acquireMs', 'startMs', 'tilesMs', 'storeMs'].filter((k) => k in j).map((k) => `${k}=${(j as Record<string, unknown>)[k]}`).join(' ');
    return [j.time ? new Date(j.time).toISOString().slice(11, 23) : '', j.part, j.msg, j.instance, j.method, extra, err?.slice(0, 160)].filter(Boolean).join(' | ');
  } catch {
    return line.slice(0, 300);
  }
}

export class FaultCluster {
  readonly namespace = `f${randomBytes(4).toString('hex')}`;
  readonly nats: NatsCluster;
  readonly gateways: GatewaySlot[] = [];
  readonly kernels: KernelSlot[] = [];
  /** Every kernel node process ever started (killed ones too), for the call count. */
  readonly #allKernelProcs: KernelNodeProcess[] = [];
  /** Every gateway process ever started. */
  readonly allGatewayProcs: GatewayProcess[] = [];
  readonly #opts: Required<Omit<FaultClusterOptions, 'gatewayEnv'>> & { gatewayEnv: Record<string, string> };

  private constructor(nats: NatsCluster, opts: FaultClusterOptions) {
    this.nats = nats;
    this.#opts = { gateways: 2, kernels: 3, kernelWorkers: 1, replicas: 3, gatewayEnv: {}, ...opts };
  }

  static async start(opts: FaultClusterOptions = {}): Promise<FaultCluster> {
    const nats = await startNatsCluster();
    const c = new FaultCluster(nats, opts);
    try {
      for (let i = 0; i < c.#opts.kernels; i++) c.kernels.push({ id: `k${i}`, proc: await c.#spawnKernel(`k${i}`) });
      for (let i = 0; i < c.#opts.gateways; i++) c.gateways.push({ index: i, proc: await c.#spawnGateway(), frozen: false });
      await c.healthy();
      return c;
    } catch (err) {
      await c.close();
      throw err;
    }
  }

  get stream(): string {
    return `${this.namespace.toUpperCase()}S`;
  }

  get replicaEnv(): Record<string, string> {
    return { PATCHWORK_JETSTREAM_REPLICAS: String(this.#opts.replicas) };
  }

  async #spawnKernel(id: string): Promise<KernelNodeProcess> {
    const p = await spawnKernelNode({ natsUrl: this.nats.urls, namespace: this.namespace, id, workers: this.#opts.kernelWorkers, env: { PATCHWORK_LOG_LEVEL: 'debug', ...this.replicaEnv } });
    this.#allKernelProcs.push(p);
    return p;
  }

  async #spawnGateway(): Promise<GatewayProcess> {
    const env = { PATCHWORK_LOG_LEVEL: 'warn', PATCHWORK_MAX_RUNNING_JOBS_PER_TENANT: '1000', PATCHWORK_DRAIN_MS: '2000', ...this.replicaEnv, ...this.#opts.gatewayEnv };
    const g = await spawnGateway(this.nats.urls, this.namespace, env);
    this.allGatewayProcs.push(g);
    await waitReady(g.url, 60_000);
    return g;
  }

  /** Gateways that answer (not killed, not frozen). */
  liveGateways(): GatewaySlot[] {
    return this.gateways.filter((g) => !g.frozen && g.proc.child.exitCode === null && g.proc.child.signalCode === null);
  }

  async killGateway(slot: GatewaySlot): Promise<void> {
    await slot.proc.kill('SIGKILL');
  }

  freezeGateway(slot: GatewaySlot): void {
    slot.frozen = true;
    slot.proc.child.kill('SIGSTOP');
  }

  thawGateway(slot: GatewaySlot): void {
    slot.proc.child.kill('SIGCONT');
    slot.frozen = false;
  }

  async killKernel(slot: KernelSlot): Promise<void> {
    await slot.proc.kill('SIGKILL');
  }

  /** Puts back whatever a fault took away: NATS servers, kernel nodes, gateways; then waits until healthy. */
  async restore(): Promise<void> {
    for (const n of this.nats.nodes) if (!n.running) await n.start();
    for (const g of this.gateways) if (g.frozen) this.thawGateway(g);
    for (const k of this.kernels) {
      if (k.proc.child.exitCode !== null || k.proc.child.signalCode !== null) k.proc = await this.#spawnKernel(k.id);
    }
    for (const g of this.gateways) {
      if (g.proc.child.exitCode !== null || g.proc.child.signalCode !== null) g.proc = await this.#spawnGateway();
    }
    await this.healthy();
  }

  /** NATS healthy (meta leader, stream replicas current), every gateway ready and seeing every kernel node. */
  async healthy(timeoutMs = 90_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    await this.nats.waitHealthy({ stream: this.stream, timeoutMs });
    for (const g of this.gateways) {
      for (;;) {
        const n = await this.#kernelNodesSeen(g.proc.url).catch(() => -1);
        if (n >= this.kernels.length) break;
        if (Date.now() > end) throw new Error(`gateway ${g.proc.url} sees ${n} of ${this.kernels.length} kernel nodes`);
        await sleep(250);
      }
    }
  }

  async #kernelNodesSeen(url: string): Promise<number> {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.#opts.gatewayEnv.PATCHWORK_TOKENS ? { authorization: `Bearer ${this.#opts.gatewayEnv.PATCHWORK_TOKENS.split(',')[0].split('=')[0]}` } : {}) },
      body: JSON.stringify({ query: '{ kernelNodes { id } }' }),
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as { data?: { kernelNodes: unknown[] } };
    return body.data?.kernelNodes.length ?? -1;
  }

  /** Kernel calls answered OK so far, across every node process ever started (from their logs). */
  answeredCalls(): number {
    let n = 0;
    for (const p of this.#allKernelProcs) for (const line of p.log) if (line.includes('"msg":"call done"')) n++;
    return n;
  }

  /**
   * Calls answered OK that were running at `at` or answered in the `windowMs` before it (a host
   * may not have stored such a result yet), across every node process: from each "call done"
   * line's time and duration.
   */
  answeredAround(at: number, windowMs: number): number {
    let n = 0;
    for (const p of this.#allKernelProcs) {
      for (const line of p.log) {
        if (!line.includes('"msg":"call done"')) continue;
        const done = Number(/"time":(\d+)/.exec(line)?.[1]);
        const ms = Number(/"ms":(\d+)/.exec(line)?.[1] ?? 0);
        if (done - ms <= at && done >= at - windowMs) n++;
      }
    }
    return n;
  }

  /** Calls admitted and not yet answered, summed over the live kernel nodes (their gauges, read at once). */
  async callsInFlight(): Promise<number> {
    const live = this.kernels.filter((k) => k.proc.child.exitCode === null && k.proc.child.signalCode === null);
    const counts = await Promise.all(
      live.map((k) =>
        k.proc
          .metrics()
          .then((t) => metricValue(t, 'patchwork_kernel_calls_in_flight'))
          .catch(() => 0),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Per kernel slot, its calls in flight now. */
  async inFlightByNode(): Promise<number[]> {
    return Promise.all(
      this.kernels.map((k) =>
        k.proc
          .metrics()
          .then((t) => metricValue(t, 'patchwork_kernel_calls_in_flight'))
          .catch(() => 0),
      ),
    );
  }

  /** Warnings and errors every process logged since `mark` (a value this returned before), for diagnosis. */
  logMark(): Map<object, number> {
    const m = new Map<object, number>();
    for (const p of [...this.#allKernelProcs, ...this.allGatewayProcs]) m.set(p, p.log.length);
    return m;
  }

  warningsSince(mark: Map<object, number>): string[] {
    const out: string[] = [];
    for (const p of [...this.#allKernelProcs, ...this.allGatewayProcs]) {
      const name = 'id' in p ? `kernel ${p.id}` : `gateway ${p.url}`;
      for (const line of p.log.slice(mark.get(p) ?? 0)) {
        const slow = /"(ms|acquireMs|storeMs)":(\d+)/.exec(line);
        if (/"level":(10|20|30)\b/.test(line) && !(process.env.FAULTS_VERBOSE === 'slow' && slow && Number(slow[2]) > 2000)) continue;
        out.push(`${name}: ${brief(line)}`);
      }
    }
    return out;
  }

  /** Writes every process's log (all lines so far) into `dir`, one file per process, for diagnosis. */
  dumpLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.#allKernelProcs.forEach((p, i) => writeFileSync(join(dir, `kernel-${p.id}-${i}.log`), p.log.join('\n') + '\n'));
    this.allGatewayProcs.forEach((g, i) => writeFileSync(join(dir, `gateway-${i}.log`), g.log.join('\n') + '\n'));
  }

  /** Pids of every live process of the cluster, by role, for memory sampling. */
  pids(): Array<{ role: string; name: string; pid: number }> {
    const out: Array<{ role: string; name: string; pid: number }> = [];
    for (const n of this.nats.nodes) if (n.pid && n.running) out.push({ role: 'nats-server', name: n.name, pid: n.pid });
    for (const g of this.gateways) if (g.proc.child.pid) out.push({ role: 'gateway', name: `g${g.index}`, pid: g.proc.child.pid });
    for (const k of this.kernels) if (k.proc.child.pid) out.push({ role: 'kernel', name: k.id, pid: k.proc.child.pid });
    return out;
  }

  async close(): Promise<void> {
    for (const g of this.gateways) if (g.frozen) this.thawGateway(g);
    await Promise.all(this.allGatewayProcs.map((g) => g.kill('SIGKILL')));
    await Promise.all(this.#allKernelProcs.map((k) => k.kill('SIGKILL')));
    await this.nats.dispose();
  }
}
