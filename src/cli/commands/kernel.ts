// `patchwork kernel`: run a kernel node. Its flags come from the kernel's settings table
// (src/kernel/cluster/config.ts), each with its PATCHWORK_* environment variable. SIGTERM or
// SIGINT drains the node: it leaves the node bucket, refuses new calls, finishes the calls in
// flight and exits 0.
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { isCodedError } from '../../common/errors.ts';
import { NODE_SETTINGS, nodeConfig } from '../../kernel/cluster/config.ts';
import { startKernelNode } from '../../kernel/node/kernel-node.ts';
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';
import { parseInteger } from '../parse.ts';

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

async function run(opts: Record<string, unknown>): Promise<void> {
  const flags: Record<string, string | number | boolean | undefined> = {};
  for (const s of NODE_SETTINGS) {
    const v = opts[camel(s.flag)];
    if (v !== undefined) flags[s.key] = v as string | number | boolean;
  }
  let config;
  try {
    config = nodeConfig(flags);
  } catch (e) {
    process.stderr.write(`patchwork kernel: ${(e as Error).message}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
  const log = pino({ level: config.logLevel, base: { node: config.nodeId } });
  let node;
  try {
    node = await startKernelNode(config, log);
  } catch (e) {
    log.fatal({ err: e }, 'kernel node failed to start');
    process.exit(isCodedError(e) && e.code === 'BAD_CONFIG' ? EXIT_BAD_INPUT : EXIT_FAILURE);
  }
  const started = node;
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    started
      .drain(config.drainTimeoutMs)
      .then(({ finished }) => {
        log.info({ finished }, 'kernel node stopped');
        log.flush();
        process.exit(EXIT_OK);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'drain failed');
        log.flush();
        process.exit(EXIT_FAILURE);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function parseBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new InvalidArgumentError(`"${value}" is not true or false.`);
}

export function registerKernel(program: Command): void {
  const cmd = program.command('kernel').description('run a kernel node: the gRPC KernelService that runs fills on tiles for the cluster');
  for (const s of NODE_SETTINGS) {
    const text = `${s.description} [env ${s.env}]${'default' in s ? ` (default ${s.default})` : ''}`;
    const arg = s.kind === 'int' ? 'n' : s.kind === 'bool' ? 'bool' : s.kind === 'file' ? 'file' : 'value';
    const parser: (v: string) => unknown = s.kind === 'int' ? parseInteger : s.kind === 'bool' ? parseBool : (v: string) => v;
    cmd.option(`--${s.flag} <${arg}>`, text, parser);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    await run(opts);
  });
}
