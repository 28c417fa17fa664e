// `patchwork gateway`: one gateway replica. Connects to NATS, hosts job actors (the job runtime),
// serves the GraphQL API, and on SIGTERM drains: /readyz turns 503, WebSockets close with 1001 so
// clients reconnect to another replica, requests in flight finish, job activities in flight
// finish and the actor leases are released so another replica takes the jobs at once.
import type { Command } from 'commander';
import { pino } from 'pino';
import { BlobStore } from '../../common/blob-store.ts';
import { patchworkNames } from '../../common/names.ts';
import { connectNats } from '../../common/nats.ts';
import { createGateway, loadGatewayConfig, type GatewayConfigInput, type KernelNodeInfo } from '../../gateway/index.ts';
import { clientConfig } from '../../kernel/cluster/config.ts';
import { EXIT_FAILURE } from '../exit-codes.ts';
import { startJobRuntime } from '../job-runtime.ts';
import { parseInteger } from '../parse.ts';

interface GatewayFlags {
  port?: number;
  host?: string;
  nats?: string;
  namespace?: string;
  tokensFile?: string;
  logLevel?: string;
}

async function run(flags: GatewayFlags): Promise<void> {
  const config = loadGatewayConfig(process.env, {
    port: flags.port,
    host: flags.host,
    natsUrl: flags.nats,
    namespace: flags.namespace,
    tokensFile: flags.tokensFile,
    logLevel: flags.logLevel as GatewayConfigInput['logLevel'],
  });
  // The job actors call kernel nodes with the kernel client's settings (TLS, deadline, attempts).
  const kernelClient = clientConfig();
  const logger = pino({ name: 'gateway', level: config.logLevel });
  const nc = await connectNats({ servers: config.natsUrl.split(',').map((s) => s.trim()), name: 'patchwork-gateway' });
  let natsUp = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') natsUp = false;
      else if (s.type === 'reconnect') natsUp = true;
    }
  })();
  const names = patchworkNames(config.namespace);
  const blobs = await BlobStore.open(nc, { bucket: names.blobBucket, replicas: config.jetstreamReplicas });
  const runtime = await startJobRuntime({ connection: nc, namespace: config.namespace, replicas: config.jetstreamReplicas, kernelClient, maxRunningJobsPerTenant: config.maxRunningJobsPerTenant, drainMs: config.drainMs, logger });
  const gateway = await createGateway(
    {
      jobs: runtime.jobs,
      blobs,
      kernelNodes: async (): Promise<KernelNodeInfo[]> => runtime.kernelNodes(),
      health: async () => ({ nats: natsUp && !nc.isClosed(), kernelNodes: runtime.kernelNodes().length }),
      jobStatusCounts: () => runtime.jobStatusCounts(),
      metricsRegistries: runtime.metricsRegistries,
      logger,
    },
    config,
  );
  const { url } = await gateway.listen();
  logger.info({ url, graphql: `${url}/graphql` }, 'gateway listening');
  process.stdout.write(`patchwork gateway listening on ${url}\n`);

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A stuck drain must not keep the pod past its grace period without saying so.
    const hard = setTimeout(() => {
      logger.error('drain did not finish in time; exiting');
      process.exit(EXIT_FAILURE);
    }, config.drainMs * 2 + 5_000);
    hard.unref();
    try {
      await gateway.stop();
      await runtime.stop();
      await nc.drain();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error while stopping');
      process.exit(EXIT_FAILURE);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .description('run a gateway: the GraphQL API (HTTP and WebSocket), uploads and blobs, and the job actors it hosts (settings: PATCHWORK_* env vars, see README)')
    .option('--port <n>', 'HTTP port (PATCHWORK_PORT, default 4000)', parseInteger)
    .option('--host <address>', 'address to listen on (PATCHWORK_HOST, default 0.0.0.0)')
    .option('--nats <urls>', 'NATS server(s), comma-separated (PATCHWORK_NATS_URL)')
    .option('--namespace <ns>', 'stream/bucket prefix (PATCHWORK_NAMESPACE, default job)')
    .option('--tokens-file <file>', 'token=tenant per line (PATCHWORK_TOKENS_FILE)')
    .option('--log-level <level>', 'pino level (PATCHWORK_LOG_LEVEL, default info)')
    .action(async (flags: GatewayFlags) => {
      try {
        await run(flags);
      } catch (err) {
        process.stderr.write(`patchwork gateway: ${(err as Error).message}\n`);
        process.exit(EXIT_FAILURE);
      }
    });
}
