// `patchwork status ID`: one job's state, options, result URL and what it cost.
import type { Command } from 'commander';
import { EXIT_OK } from '../exit-codes.ts';
import { runClientCommand, withClientOptions, type ClientFlags } from '../client/command.ts';
import { JOB, type JobData } from '../client/documents.ts';
import { ClientError } from '../client/errors.ts';
import { jobDetails, printJson } from '../client/output.ts';

export function registerStatus(program: Command): void {
  withClientOptions(program.command('status').description("show a job's state").argument('<id>', 'job id')).action(async (id: string, flags: ClientFlags) => {
    await runClientCommand('status', flags, async (client) => {
      const { job } = await client.request<{ job: JobData | null }>(JOB, { id });
      if (!job) throw new ClientError('NOT_FOUND', `job ${id} was not found.`);
      if (flags.json) printJson({ job });
      else process.stdout.write(`${jobDetails(job)}\n`);
      return EXIT_OK;
    });
  });
}
