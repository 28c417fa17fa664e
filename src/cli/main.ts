// The `patchwork` command: a thin dispatcher. Each subcommand lives in its own file under
// commands/ and registers itself here.
import { Command, type CommanderError } from 'commander';
import { registerCancel } from './commands/cancel.ts';
import { registerGateway } from './commands/gateway.ts';
import { registerJobs } from './commands/jobs.ts';
import { registerKernel } from './commands/kernel.ts';
import { registerLocal } from './commands/local.ts';
import { registerRun } from './commands/run.ts';
import { registerStatus } from './commands/status.ts';
import { registerUp } from './commands/up.ts';
import { EXIT_BAD_INPUT } from './exit-codes.ts';

const program = new Command('patchwork')
  .description('Patchwork: content-aware fill (inpainting) for photos')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  // Usage errors (unknown option, missing argument, bad number) are bad input: exit 2.
  .exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
  });

registerLocal(program);
registerGateway(program);
registerKernel(program);
registerUp(program);
registerRun(program);
registerJobs(program);
registerStatus(program);
registerCancel(program);

await program.parseAsync(process.argv);
