// `patchwork jobs`: your jobs, newest first (one page; --after CURSOR for the next).
import { InvalidArgumentError, type Command } from 'commander';
import { EXIT_OK } from '../exit-codes.ts';
import { runClientCommand, withClientOptions, type ClientFlags } from '../client/command.ts';
import { JOBS, type JobStatus, type JobsPage } from '../client/documents.ts';
import { jobTable, printJson } from '../client/output.ts';
import { parseInteger } from '../parse.ts';

interface JobsFlags extends ClientFlags {
  status?: JobStatus;
  first?: number;
  after?: string;
}

const STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELED'];

function parseStatus(value: string): JobStatus {
  const v = value.toUpperCase() as JobStatus;
  if (!STATUSES.includes(v)) throw new InvalidArgumentError(`"${value}" is not a status; use one of ${STATUSES.join(', ').toLowerCase()}.`);
  return v;
}

export function registerJobs(program: Command): void {
  withClientOptions(
    program
      .command('jobs')
      .description('list your jobs, newest first')
      .option('--status <status>', 'only jobs with this status (queued, running, paused, completed, failed, canceled)', parseStatus)
      .option('--first <n>', 'how many (1-100, default 20)', parseInteger)
      .option('--after <cursor>', 'the next page: the cursor the previous page printed'),
  ).action(async (flags: JobsFlags) => {
    await runClientCommand('jobs', flags, async (client) => {
      const { jobs } = await client.request<{ jobs: JobsPage }>(JOBS, { first: flags.first ?? 20, after: flags.after ?? null, status: flags.status ?? null });
      if (flags.json) printJson({ jobs: jobs.nodes, pageInfo: jobs.pageInfo });
      else {
        process.stdout.write(`${jobTable(jobs.nodes)}\n`);
        if (jobs.pageInfo.hasNextPage) process.stdout.write(`more: patchwork jobs --after ${jobs.pageInfo.endCursor}\n`);
      }
      return EXIT_OK;
    });
  });
}
