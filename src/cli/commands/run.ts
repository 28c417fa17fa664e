// `patchwork run IMAGE --mask MASK --out OUT`: a fill on a Patchwork cluster. Uploads the files,
// creates the job, follows it live (progress bar with level and iteration; previews saved with
// --previews), writes the result. Ctrl-C asks the gateway to cancel the job, then exits 130.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EXIT_OK } from '../exit-codes.ts';
import { runClientCommand, withClientOptions, type ClientFlags } from '../client/command.ts';
import { CANCEL_JOB, CREATE_JOB, type JobData } from '../client/documents.ts';
import { ClientError, JobFailedError } from '../client/errors.ts';
import { extensionOf, outputFormat, readInput, writeImage } from '../client/files.ts';
import { startEmbeddedCluster, wantsEmbedded, type EmbeddedCluster } from '../client/embedded.ts';
import { followJob } from '../client/follow.ts';
import type { GatewayClient } from '../client/gateway-client.ts';
import { printJson } from '../client/output.ts';
import { progressView, type ProgressView } from '../client/progress.ts';
import { collect, parseInteger } from '../parse.ts';

interface RunFlags extends ClientFlags {
  mask: string;
  out: string;
  donor: string[];
  previews?: string;
  patchSize?: number;
  seed?: number;
  maxIterations?: number;
  distance?: 'CIE76' | 'CIE2000';
  embedded?: boolean;
}

/** Exit code after Ctrl-C (128 + SIGINT), as shells report an interrupted command. */
export const EXIT_INTERRUPTED = 130;

/** Creating a job is retried on a lost connection: the idempotency key makes that safe. */
async function createJob(client: GatewayClient, input: Record<string, unknown>): Promise<JobData> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await client.request<{ createInpaintJob: JobData }>(CREATE_JOB, { input })).createInpaintJob;
    } catch (e) {
      if (!(e instanceof ClientError) || e.code !== 'UNREACHABLE' || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** Saves each new preview once, in order, while the job runs. */
function previewSaver(client: GatewayClient, dir: string | undefined, view: ProgressView): { offer(job: JobData): void; flush(): Promise<void> } {
  let chain: Promise<void> = dir ? mkdir(dir, { recursive: true }).then(() => undefined) : Promise.resolve();
  let lastId: string | null = null;
  let failed = false;
  return {
    offer(job) {
      if (!dir || !job.preview || job.preview.id === lastId) return;
      lastId = job.preview.id;
      const preview = job.preview;
      const file = join(dir, `level${job.level ?? 0}-iter${String(job.iteration ?? 0).padStart(2, '0')}.${extensionOf(preview.contentType)}`);
      chain = chain.then(async () => {
        if (failed) return;
        try {
          await writeFile(file, await client.download(preview.url));
        } catch (e) {
          failed = true;
          view.note(`could not save previews in ${dir}: ${(e as Error).message}`);
        }
      });
    },
    flush: () => chain,
  };
}

async function cancelQuietly(client: GatewayClient, id: string): Promise<string> {
  try {
    const { cancelJob } = await client.request<{ cancelJob: JobData }>(CANCEL_JOB, { id }, AbortSignal.timeout(10_000));
    return `job ${id}: ${cancelJob.status}`;
  } catch (e) {
    return `could not cancel job ${id} (${e instanceof ClientError ? e.describe() : (e as Error).message}); cancel it with \`patchwork cancel ${id}\``;
  }
}

async function run(client: GatewayClient, imagePath: string, flags: RunFlags): Promise<number> {
  outputFormat(flags.out); // a bad output name fails before any upload
  const image = await readInput(imagePath, 'image');
  const mask = await readInput(flags.mask, 'mask');
  const donors = await Promise.all(flags.donor.map((d) => readInput(d, 'donor mask')));
  const json = flags.json ?? false;
  const view = progressView(json ? 'silent' : process.stderr.isTTY ? 'bar' : 'lines');

  // First Ctrl-C: stop following, cancel the job, exit 130. A second one exits at once.
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  const started = Date.now();
  try {
    let uploaded;
    try {
      uploaded = await Promise.all([client.upload(image.bytes, image.contentType, interrupt.signal), client.upload(mask.bytes, mask.contentType, interrupt.signal), ...donors.map((d) => client.upload(d.bytes, d.contentType, interrupt.signal))]);
    } catch (e) {
      if (interrupt.signal.aborted) {
        view.note('interrupted before the job started');
        return EXIT_INTERRUPTED;
      }
      throw e;
    }
    const [img, msk, ...dnr] = uploaded;
    const options: Record<string, unknown> = {};
    if (flags.patchSize !== undefined) options.patchSize = flags.patchSize;
    if (flags.seed !== undefined) options.seed = flags.seed;
    if (flags.maxIterations !== undefined) options.maxIterations = flags.maxIterations;
    if (flags.distance !== undefined) options.distance = flags.distance;
    const job = await createJob(client, { imageId: img.id, maskId: msk.id, ...(dnr.length ? { donorIds: dnr.map((d) => d.id) } : {}), options, idempotencyKey: randomUUID() });
    if (!json && !process.stderr.isTTY) view.note(`job ${job.id} created`);

    const previews = previewSaver(client, flags.previews, view);
    const final = interrupt.signal.aborted
      ? null
      : await followJob(client, job.id, interrupt.signal, (j) => {
          view.update(j);
          previews.offer(j);
        });
    await previews.flush();
    if (final === null) {
      view.stop();
      process.stderr.write(`\ninterrupted: canceling job ${job.id} ...\n`);
      process.stderr.write(`${await cancelQuietly(client, job.id)}\n`);
      return EXIT_INTERRUPTED;
    }
    view.stop();
    if (final.status === 'FAILED') throw new JobFailedError(final.id, final.error?.code ?? 'FAILED', final.error?.message ?? 'no reason given');
    if (final.status === 'CANCELED') throw new ClientError('JOB_CANCELED', `job ${final.id} was canceled (by another client)${final.preview ? `; its last preview is ${final.preview.url}` : ''}.`);
    if (!final.result) throw new ClientError('BAD_RESPONSE', `job ${final.id} completed without a result.`);
    await writeImage(flags.out, await client.download(final.result.url), final.result.contentType);
    if (json) printJson({ out: flags.out, job: final });
    else process.stdout.write(`wrote ${flags.out} (${final.result.width}x${final.result.height}) from job ${final.id} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return EXIT_OK;
  } finally {
    view.stop();
    process.off('SIGINT', onSigint);
  }
}

function parseDistance(value: string): 'CIE76' | 'CIE2000' {
  const v = value.toLowerCase();
  if (v === 'cie76') return 'CIE76';
  if (v === 'cie2000') return 'CIE2000';
  throw new InvalidArgumentError(`"${value}" is not a distance; use cie76 or cie2000.`);
}

export function registerRun(program: Command): void {
  withClientOptions(
    program
      .command('run')
      .description('fill the masked area of IMAGE on a Patchwork cluster, following it live; with no gateway named or running, on an embedded one started for the job')
      .argument('<image>', 'photo to fill (PNG, JPEG, WebP)')
      .requiredOption('--mask <file>', 'what to remove: white on black, or an overlay whose alpha > 0 marks the hole')
      .requiredOption('--out <file>', 'where to write the result (.png, .jpg or .webp)')
      .option('--donor <file>', 'only copy from where this mask is set (repeatable)', collect, [])
      .option('--previews <dir>', 'save each live preview into DIR')
      .option('--patch-size <n>', 'patch side in pixels at full resolution, odd (default 9; coarse levels use at most 7)', parseInteger)
      .option('--seed <n>', 'random seed: same seed, same bytes (default 1)', parseInteger)
      .option('--max-iterations <n>', 'most EM iterations per pyramid level (default 10)', parseInteger)
      .option('--distance <kind>', 'patch colour distance: cie76 or cie2000 (default cie76)', parseDistance)
      .option('--embedded', 'start a cluster for this job (nats-server, kernel nodes, a gateway; a temporary data folder) and stop it after; the default when no --endpoint is given and no gateway answers on the default one'),
  ).action(async (imagePath: string, flags: RunFlags) => {
    let embedded: EmbeddedCluster | null = null;
    const say = (line: string): void => {
      if (!flags.json) process.stderr.write(`${line}\n`);
    };
    await runClientCommand('run', flags, (client) => run(client, imagePath, flags), {
      before: async () => {
        if (!(await wantsEmbedded(flags))) return;
        say('no gateway running: starting an embedded cluster for this job (nats-server, kernel nodes, a gateway) ...');
        // A Ctrl-C while it starts: stop what started, run nothing.
        let interrupted = false;
        const onSigint = (): void => {
          interrupted = true;
        };
        process.on('SIGINT', onSigint);
        try {
          embedded = await startEmbeddedCluster(say);
        } finally {
          process.off('SIGINT', onSigint);
        }
        if (interrupted) throw new ClientError('INTERRUPTED', 'interrupted while the embedded cluster was starting; nothing ran.');
        flags.endpoint = embedded.endpoint;
      },
      after: async () => {
        if (!embedded) return;
        say('stopping the embedded cluster ...');
        await embedded.stop();
      },
    });
  });
}
