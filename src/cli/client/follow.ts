// Following a job to its end through the `jobUpdates` subscription: the current state comes
// first, then every change; the last value is the final state. When the WebSocket drops,
// graphql-ws reconnects and the subscription starts again with the current state, so nothing is
// missed that matters (the newest state wins).
import { JOB, JOB_UPDATES, TERMINAL, type JobData } from './documents.ts';
import { ClientError } from './errors.ts';
import type { GatewayClient } from './gateway-client.ts';

/** Resolves to the job's final state, or null when `signal` was aborted first. */
export async function followJob(client: GatewayClient, id: string, signal: AbortSignal, onUpdate: (job: JobData) => void): Promise<JobData | null> {
  let last: JobData | null = null;
  for await (const data of client.subscribe<{ jobUpdates: JobData }>(JOB_UPDATES, { id }, signal)) {
    const job = data.jobUpdates;
    // Reconnects replay the current state: never step back to an older version.
    if (last && job.version < last.version) continue;
    last = job;
    onUpdate(job);
    if (TERMINAL.includes(job.status)) return job;
  }
  if (signal.aborted) return null;
  // The server completed the subscription without a final state (it should not): ask once.
  const { job } = await client.request<{ job: JobData | null }>(JOB, { id });
  if (job && TERMINAL.includes(job.status)) return job;
  throw new ClientError('SUBSCRIPTION_ENDED', `the gateway ended the updates of job ${id} while it was ${job?.status ?? 'unknown'}; see \`patchwork status ${id}\`.`);
}
