// `patchwork cancel ID`: stops a job; its last preview stays.
import type { Command } from 'commander';
import { EXIT_OK } from '../exit-codes.ts';
import { runClientCommand, withClientOptions, type ClientFlags } from '../client/command.ts';
import { CANCEL_JOB, type JobData } from '../client/documents.ts';
import { printJson } from '../client/output.ts';

export function registerCancel(program: Command): void {
  withClientOptions(program.command('cancel').description('cancel a job (its last preview stays)').argument('<id>', 'job id')).action(async (id: string, flags: ClientFlags) => {
    await runClientCommand('cancel', flags, async (client) => {
      const { cancelJob } = await client.request<{ cancelJob: JobData }>(CANCEL_JOB, { id });
      if (flags.json) printJson({ job: cancelJob });
      else process.stdout.write(`job ${cancelJob.id}: ${cancelJob.status}\n`);
      return EXIT_OK;
    });
  });
}
