// `patchwork up` as a whole: starts nats-server, the kernel nodes and the gateways in that order,
// waits until the first gateway is ready (NATS connected, a kernel node live), and stops them in
// the reverse order: gateways first (they finish job activities in flight and release their job
// leases, which needs NATS and the kernel nodes), then kernel nodes (they drain), NATS last.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CodedError } from '../../common/errors.ts';
import { gatewayChild, kernelChild, markerOf, natsChild, type GatewayChild } from './children.ts';
import { DataDirLock } from './lock.ts';
import { ensureNatsServer } from './nats-install.ts';
import type { UpPlan } from './plan.ts';
import { portIsFree } from './ports.ts';
import { SupervisedChild, type ChildSpec } from './supervisor.ts';

export interface ClusterInfo {
  webUrl: string;
  gatewayUrls: string[];
  natsUrl: string;
  kernels: number;
  workersPerKernel: number;
  dataDir: string;
}

export interface UpOptions {
  /** Install nats-server when missing and the machine allows. */
  install: boolean;
  say(line: string): void;
}

const START_TIMEOUT_MS = 90_000;
const READY_TIMEOUT_MS = 60_000;

export class LocalCluster {
  readonly plan: UpPlan;
  readonly #opts: UpOptions;
  #lock: DataDirLock | null = null;
  #nats: SupervisedChild | null = null;
  #kernels: SupervisedChild[] = [];
  #gateways: SupervisedChild[] = [];
  #stopping: Promise<void> | null = null;

  constructor(plan: UpPlan, opts: UpOptions) {
    this.plan = plan;
    this.#opts = opts;
  }

  #supervise(spec: ChildSpec): SupervisedChild {
    return new SupervisedChild(spec, {
      say: (line) => this.#opts.say(line),
      ready: (name, pid) => {
        this.#lock?.child(name, pid, markerOf(spec));
      },
    });
  }

  /** Starts everything; on any failure stops what started and throws a CodedError. */
  async start(): Promise<ClusterInfo> {
    const { plan } = this;
    mkdirSync(join(plan.dataDir, 'logs'), { recursive: true });
    const { lock, leftovers } = await DataDirLock.acquire(plan.dataDir);
    this.#lock = lock;
    if (leftovers.length) this.#opts.say(`stopped processes left over from an earlier run in ${plan.dataDir}: ${leftovers.join(', ')}`);
    try {
      const natsBinary = ensureNatsServer(plan.natsServer, { install: this.#opts.install, say: this.#opts.say });
      for (const port of plan.gatewayPorts) {
        if (port !== 0 && !(await portIsFree(port, plan.host))) {
          throw new CodedError('PORT_IN_USE', `port ${port} on ${plan.host} is in use (another patchwork up or gateway?): pass --port with a free port, or 0 for any.`);
        }
      }
      const echo = plan.verbose ? (name: string, line: string) => process.stderr.write(`[${name}] ${line}\n`) : undefined;
      const common = { dataDir: plan.dataDir, echo };

      const nats = natsChild(natsBinary, plan.natsPort, common);
      this.#nats = this.#supervise(nats.spec);
      await this.#nats.start(START_TIMEOUT_MS);
      const natsUrl = `nats://127.0.0.1:${nats.port()}`;

      this.#kernels = Array.from({ length: plan.kernels }, (_, i) => this.#supervise(kernelChild(i + 1, natsUrl, plan.workersPerKernel, common)));
      await Promise.all(this.#kernels.map((k) => k.start(START_TIMEOUT_MS)));

      const gateways: GatewayChild[] = plan.gatewayPorts.map((port, i) => gatewayChild(i + 1, natsUrl, port, plan.host, common));
      this.#gateways = gateways.map((g) => this.#supervise(g.spec));
      await Promise.all(this.#gateways.map((g) => g.start(START_TIMEOUT_MS)));
      const urls = gateways.map((g) => g.url()!);
      await waitReady(urls[0], READY_TIMEOUT_MS);
      return { webUrl: `${urls[0]}/`, gatewayUrls: urls, natsUrl, kernels: plan.kernels, workersPerKernel: plan.workersPerKernel, dataDir: plan.dataDir };
    } catch (e) {
      await this.stop();
      if (e instanceof CodedError) throw e;
      throw new CodedError('UP_FAILED', (e as Error).message, { cause: e });
    }
  }

  /** Children by name with their current pid (for status lines and tests). */
  children(): Array<{ name: string; pid: number | undefined; restarts: number }> {
    return [...this.#gateways, ...this.#kernels, ...(this.#nats ? [this.#nats] : [])].map((c) => ({ name: c.name, pid: c.pid, restarts: c.restarts }));
  }

  /** Orderly stop: gateways, then kernel nodes, then NATS. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all(this.#gateways.map((g) => g.stop('SIGTERM')));
      await Promise.all(this.#kernels.map((k) => k.stop('SIGTERM')));
      await this.#nats?.stop('SIGTERM');
      this.#lock?.release();
    })();
    return this.#stopping;
  }

  /** Second Ctrl-C: no more waiting. */
  killNow(): void {
    for (const c of [...this.#gateways, ...this.#kernels, ...(this.#nats ? [this.#nats] : [])]) c.killNow();
    this.#lock?.release();
  }
}

/** Polls /readyz until 200: NATS connected and at least one kernel node registered. */
async function waitReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(3_000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new CodedError('UP_FAILED', `the gateway at ${baseUrl} did not become ready within ${timeoutMs / 1000} s (last /readyz: ${last}).`);
}
