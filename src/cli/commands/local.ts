// `patchwork local`: fill the hole in one process, no cluster. A progress bar on a terminal,
// silence otherwise; exit 0 on success, 2 with a one-line message on bad input.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { decodeImage, encodeImage, formatForPath, inpaint, isKernelError, type InpaintInput, type Progress } from '../../kernel/index.ts';
import { EXIT_BAD_INPUT, EXIT_FAILURE } from '../exit-codes.ts';
import { collect, parseInteger } from '../parse.ts';

interface LocalOptions {
  mask: string;
  out: string;
  donor: string[];
  patchSize?: number;
  seed?: number;
  maxIterations?: number;
  distance?: 'cie76' | 'cie2000';
  previews?: string;
  workers?: number;
}

/** A failure the user can fix by changing the command line or the files. */
class BadInput extends Error {}

async function run(imagePath: string, opts: LocalOptions): Promise<void> {
  const format = formatForPath(opts.out);
  const image = await decodeImage(imagePath, 'image');
  const mask = await decodeImage(opts.mask, 'mask');
  const donors = await Promise.all(opts.donor.map((d) => decodeImage(d, 'donor mask')));
  if (opts.previews) await mkdir(opts.previews, { recursive: true });

  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: 'filling |{bar}| {percentage}% | level {level} iteration {iteration} | {changed} px changed', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(100, 0, { level: '-', iteration: '-', changed: '-' });
  const writes: Promise<void>[] = [];
  const onProgress = (p: Progress): void => {
    bar?.update(Math.round(p.fraction * 100), { level: `${p.levels - p.level}/${p.levels}`, iteration: p.iteration, changed: p.pixelsChanged });
    if (opts.previews) {
      const file = join(opts.previews, `level${p.level}-iter${String(p.iteration).padStart(2, '0')}.png`);
      writes.push(encodeImage(p.preview(), 'png').then((png) => writeFile(file, png)));
    }
  };
  const input: InpaintInput = {
    donors,
    patchSize: opts.patchSize,
    seed: opts.seed,
    maxIterations: opts.maxIterations,
    distance: opts.distance,
    workers: opts.workers,
  };
  try {
    const result = await inpaint(image, mask, input, onProgress);
    await Promise.all(writes);
    const bytes = await encodeImage(result, format);
    try {
      await writeFile(opts.out, bytes);
    } catch (e) {
      throw new BadInput(`cannot write ${opts.out}: ${(e as Error).message}`);
    }
  } finally {
    bar?.stop();
  }
}

export function registerLocal(program: Command): void {
  program
    .command('local')
    .description('fill the masked area of IMAGE in this process (no cluster needed)')
    .argument('<image>', 'photo to fill (PNG, JPEG, WebP)')
    .requiredOption('--mask <file>', 'what to remove: white on black, or an overlay whose alpha > 0 marks the hole')
    .requiredOption('--out <file>', 'where to write the result (.png, .jpg or .webp)')
    .option('--donor <file>', 'only copy from where this mask is set (repeatable)', collect, [])
    .option('--patch-size <n>', 'patch side in pixels at full resolution, odd (default 9; coarse levels use at most 7)', parseInteger)
    .option('--seed <n>', 'random seed: same seed, same bytes (default 1)', parseInteger)
    .option('--max-iterations <n>', 'most EM iterations per pyramid level (default 10)', parseInteger)
    .option('--distance <kind>', 'patch colour distance: cie76 or cie2000 (default cie76)', (v: string) => {
      if (v !== 'cie76' && v !== 'cie2000') throw new InvalidDistance(v);
      return v;
    })
    .option('--workers <n>', 'threads to use (default: all cores)', parseInteger)
    .option('--previews <dir>', 'write a PNG preview after every iteration into DIR')
    .action(async (imagePath: string, opts: LocalOptions) => {
      try {
        await run(imagePath, opts);
      } catch (e) {
        if (isKernelError(e) || e instanceof BadInput) {
          process.stderr.write(`patchwork local: ${e.message}\n`);
          process.exit(EXIT_BAD_INPUT);
        }
        process.stderr.write(`patchwork local: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(EXIT_FAILURE);
      }
    });
}


class InvalidDistance extends InvalidArgumentError {
  constructor(value: string) {
    super(`"${value}" is not a distance; use cie76 or cie2000.`);
  }
}
