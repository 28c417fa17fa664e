// `patchwork up`: the whole cluster on this machine with one command — its own nats-server with
// JetStream in a data folder, kernel nodes, gateway(s) — supervised until Ctrl-C, which stops it
// all in order. The work is in ../up/; this file is flags, signals and what the user reads.
import { relative } from 'node:path';
import type { Command } from 'commander';
import { isCodedError } from '../../common/errors.ts';
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';
import { parseInteger } from '../parse.ts';
import { LocalCluster, type ClusterInfo } from '../up/cluster.ts';
import { makePlan, type UpFlags } from '../up/plan.ts';

interface UpCommandFlags extends UpFlags {
  install: boolean;
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Exit codes for start failures the user fixes by changing the command line. */
const BAD_INPUT_CODES = new Set(['BAD_OPTION', 'PORT_IN_USE', 'DATA_DIR_BUSY']);

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? `./${rel}` : path;
}

function banner(info: ClusterInfo): string {
  const g = info.gatewayUrls;
  const lines = [
    '',
    `Patchwork is up.`,
    `  web page      ${info.webUrl}`,
    `  GraphQL       ${g[0]}/graphql   (GraphiQL: ${g[0]}/graphiql)`,
    ...(g.length > 1 ? [`  gateways      ${g.join('  ')}`] : []),
    `  kernel nodes  ${info.kernels} × ${info.workersPerKernel} worker${info.workersPerKernel === 1 ? '' : 's'}`,
    `  NATS          ${info.natsUrl}   (JetStream data in ${shown(info.dataDir)})`,
    `  logs          ${shown(info.dataDir)}/logs/`,
    '',
    'Fill a photo from another terminal:',
    `  ./bin/patchwork run examples/t009.jpg --mask examples/m009.png --out filled.png${g[0] === 'http://127.0.0.1:4000' ? '' : ` --endpoint ${g[0]}`}`,
    '',
    'Ctrl-C stops everything.',
  ];
  return lines.join('\n');
}

async function run(flags: UpCommandFlags): Promise<void> {
  let plan;
  try {
    plan = makePlan(flags);
  } catch (e) {
    process.stderr.write(`patchwork up: ${(e as Error).message}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
  const cluster = new LocalCluster(plan, { install: flags.install, say });

  // Children live in their own process groups: the terminal's Ctrl-C reaches only us, and we stop
  // them in order. A second Ctrl-C kills them at once.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      say('killing everything now');
      cluster.killNow();
      process.exit(130);
    }
    say(`\n${signal}: stopping gateways, then kernel nodes, then NATS (Ctrl-C again to kill at once)`);
    cluster
      .stop()
      .then(() => {
        say('stopped');
        process.exit(EXIT_OK);
      })
      .catch((err: unknown) => {
        process.stderr.write(`patchwork up: error while stopping: ${(err as Error).message}\n`);
        process.exit(EXIT_FAILURE);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  say(`starting nats-server, ${plan.kernels} kernel node(s) and ${plan.gatewayPorts.length} gateway(s) in ${shown(plan.dataDir)} ...`);
  try {
    const info = await cluster.start();
    if (signals === 0) say(banner(info));
  } catch (e) {
    if (signals > 0) return; // stopping already
    process.stderr.write(`patchwork up: ${(e as Error).message}\n`);
    process.exit(isCodedError(e) && BAD_INPUT_CODES.has(e.code) ? EXIT_BAD_INPUT : EXIT_FAILURE);
  }
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run a whole Patchwork cluster on this machine: nats-server (JetStream), kernel nodes and gateway(s), supervised; Ctrl-C stops it')
    .option('--data <dir>', 'data folder: JetStream store, logs (default ./.patchwork)')
    .option('--port <n>', 'gateway port; with --gateways N, N consecutive ports from here; 0 picks free ports (default 4000)', parseInteger)
    .option('--host <address>', 'address gateways listen on; 0.0.0.0 opens them to the network (default 127.0.0.1)')
    .option('--gateways <n>', 'gateway processes (default 1)', parseInteger)
    .option('--kernels <n>', 'kernel node processes (default: one per core)', parseInteger)
    .option('--workers <n>', 'worker threads per kernel node (default: cores / kernel nodes, at least 1)', parseInteger)
    .option('--nats-port <n>', 'NATS client port (default: a free port)', parseInteger)
    .option('--nats-server <path>', 'nats-server binary (default: nats-server on PATH, or NATS_SERVER_BIN)')
    .option('--no-install', 'never install nats-server, only say how')
    .option('--verbose', "copy the children's logs to the terminal")
    .action(async (flags: UpCommandFlags) => {
      await run(flags);
    });
}
