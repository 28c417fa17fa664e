// The inpaint job: one durable orchestration per job (instance id = job id).
//
//   1. admission: ask for one of the tenant's running slots (job.admit); while none is free,
//      status QUEUED, wait for a wake-up from a releasing job or poll again (a durable timer);
//   2. the fill (inpaint-fill.ts): Prepare, the levels' steps, Finish; progress and previews
//      recorded as status updates; pause / resume / accept honoured between steps;
//   3. release the slot, record the final status, return the result.
//
// Cancel is the runtime's cooperative cancel: every pending step rejects with CanceledError
// (in-flight kernel calls are aborted), the job releases its slot and the instance ends
// CANCELED with its last preview kept in the status. Any other failure ends FAILED with the
// kernel's own error code and message.
import type { OrchestrationContext } from '../context.ts';
import { ActivityFailedError, CodedError } from '../errors.ts';
import { JobActivity, JobEvent, type AdmitInput, type AdmitOutput, type ReleaseInput } from '../jobs/activities.ts';
import type { InpaintJobInput, InpaintJobOutput } from '../jobs/job-state.ts';
import { fill } from './inpaint-fill.ts';
import { JobRun, LOCAL_RETRY } from './inpaint-run.ts';

async function admit(run: JobRun): Promise<void> {
  const { ctx, input } = run;
  const request: AdmitInput = { tenant: input.tenant, jobId: run.jobId, cap: input.cap };
  let position = -1;
  for (;;) {
    const r = await ctx.call<AdmitOutput>(JobActivity.admit, request, { retry: LOCAL_RETRY });
    if (r.admitted) break;
    if (r.position !== position) {
      position = r.position;
      run.status({ queuePosition: position });
    }
    try {
      await ctx.waitForEvent(JobEvent.admission, { timeoutMs: input.settings.admissionPollMs });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'WAIT_TIMEOUT') throw err;
    }
  }
  run.admitted = true;
  run.status({ phase: run.paused ? 'paused' : 'running', queuePosition: null });
}

/** Gives the slot back; never fails the job (a slot of a finished job is reclaimed by the next admission anyway). */
async function release(run: JobRun): Promise<void> {
  const request: ReleaseInput = { tenant: run.input.tenant, jobId: run.jobId };
  try {
    await run.ctx.call(JobActivity.release, request, { retry: LOCAL_RETRY });
  } catch {
    // see above
  }
}

/** The kernel's own code and message rather than the runtime's wrapper. */
function jobError(err: unknown): unknown {
  if (err instanceof ActivityFailedError) return new CodedError(err.failure.code, err.failure.message, { details: { activity: err.activity } });
  return err;
}

export async function inpaintOrchestration(ctx: OrchestrationContext, input: InpaintJobInput): Promise<InpaintJobOutput> {
  const run = new JobRun(ctx, input);
  void run.followControl();
  let outcome;
  try {
    await admit(run);
    outcome = await fill(run);
  } catch (err) {
    run.finished = true;
    await release(run);
    if (ctx.isCancelRequested && (err as { code?: unknown }).code === 'CANCELED') throw err;
    throw jobError(err);
  }
  run.finished = true;
  await release(run);
  const result = run.imageRef(outcome.result.id, 'image/png');
  run.status({ phase: 'completed', progress: 1, result, accepted: outcome.accepted, accepting: false, stats: run.statsNow() });
  return { result, accepted: outcome.accepted };
}
