// The embedded default: when `patchwork run` has no gateway to talk to (no --endpoint, no
// PATCHWORK_ENDPOINT, and nothing answering on the default one), it starts the same cluster
// `patchwork up` would — its own nats-server with JetStream, kernel nodes and a gateway — in a
// temporary data folder, runs the job there, and stops it all again. The quick start's first
// command is this path.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCodedError } from '../../common/errors.ts';
import { LocalCluster } from '../up/cluster.ts';
import { makePlan } from '../up/plan.ts';
import { DEFAULT_ENDPOINT, type ConnectionFlags } from './endpoint.ts';
import { ClientError } from './errors.ts';

export interface EmbeddedCluster {
  endpoint: string;
  stop(): Promise<void>;
  /** Second Ctrl-C: stop the children without waiting. */
  killNow(): void;
}

/** True when a gateway answers /healthz at `endpoint` within `timeoutMs`. */
export async function gatewayAnswers(endpoint: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Whether to start an embedded cluster: asked for, or no gateway named and none running. */
export async function wantsEmbedded(flags: ConnectionFlags & { embedded?: boolean }, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (flags.embedded) return true;
  if (flags.endpoint !== undefined || env.PATCHWORK_ENDPOINT) return false;
  return !(await gatewayAnswers(DEFAULT_ENDPOINT));
}

export async function startEmbeddedCluster(say: (line: string) => void): Promise<EmbeddedCluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'patchwork-run-'));
  const plan = makePlan({ data: dataDir, port: 0 });
  const cluster = new LocalCluster(plan, { install: true, say });
  const removeData = () => rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  try {
    const info = await cluster.start();
    return {
      endpoint: info.gatewayUrls[0],
      stop: async () => {
        await cluster.stop();
        await removeData();
      },
      killNow: () => cluster.killNow(),
    };
  } catch (e) {
    await removeData();
    throw new ClientError(isCodedError(e) ? e.code : 'UP_FAILED', `could not start the embedded cluster: ${(e as Error).message}`);
  }
}
