// What every client command shares: the --endpoint, --token and --json options, a connected
// GatewayClient, and one place that turns failures into a message and an exit code
// (0 ok, 2 bad input with the gateway's error code, 1 anything else).
import type { Command } from 'commander';
import { EXIT_FAILURE } from '../exit-codes.ts';
import { resolveConnection, DEFAULT_ENDPOINT } from './endpoint.ts';
import { ClientError } from './errors.ts';
import { GatewayClient } from './gateway-client.ts';
import { printError } from './output.ts';

export interface ClientFlags {
  endpoint?: string;
  token?: string;
  json?: boolean;
}

export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', `gateway URL (PATCHWORK_ENDPOINT, default ${DEFAULT_ENDPOINT})`)
    .option('--token <token>', 'API token, sent as "Authorization: Bearer <token>" (PATCHWORK_TOKEN)')
    .option('--json', 'print JSON on stdout, for scripts');
}

/**
 * Runs a client command body with a GatewayClient; the body returns the exit code. Errors are
 * printed (as JSON with --json) and exit with their code.
 */
export async function runClientCommand<F extends ClientFlags>(name: string, flags: F, body: (client: GatewayClient, flags: F) => Promise<number>): Promise<never> {
  let client: GatewayClient | null = null;
  let code: number;
  try {
    client = new GatewayClient(resolveConnection(flags));
    code = await body(client, flags);
  } catch (e) {
    const err = e instanceof ClientError ? e : new ClientError('INTERNAL', e instanceof Error ? (e.stack ?? e.message) : String(e));
    printError(name, err, flags.json ?? false);
    code = e instanceof ClientError ? err.exitCode : EXIT_FAILURE;
  }
  await client?.close().catch(() => undefined);
  process.exit(code);
}
