// Option defaults and validation. Defaults are chosen by measured quality and speed (see
// docs/architecture.md, "Kernel / defaults"); every option that changes output bytes is in the
// plan, so a run can be replayed from the plan alone.
import { z } from 'zod';
import { KernelError } from './errors.ts';
import type { PlanOptions } from './types.ts';

export const MAX_PATCH_SIZE = 31;

export const DEFAULT_OPTIONS: Readonly<PlanOptions> = Object.freeze({
  patchSize: 9,
  seed: 1,
  maxIterations: 10,
  minIterations: 2,
  convergence: 0.04,
  changeThreshold: 1,
  distance: 'cie76',
  tileSize: 64,
  topHoleRadius: 7,
  confidenceBase: 1.3,
  similarityScale: 1,
  proximity: 80,
});

const planOptionsSchema = z
  .object({
    patchSize: z
      .number()
      .int()
      .min(3)
      .max(MAX_PATCH_SIZE)
      .refine((n) => n % 2 === 1, { message: 'must be odd (a patch has a centre pixel)' }),
    seed: z.number().int().min(0).max(0xffffffff),
    maxIterations: z.number().int().min(1).max(200),
    minIterations: z.number().int().min(1).max(200),
    convergence: z.number().min(0).max(1),
    changeThreshold: z.number().min(0).max(100),
    distance: z.enum(['cie76', 'cie2000']),
    tileSize: z.number().int().min(8).max(4096),
    topHoleRadius: z.number().min(1).max(64),
    confidenceBase: z.number().min(1).max(10),
    similarityScale: z.number().positive().max(1000),
    proximity: z.number().min(0).max(10000),
  })
  .strict();

const runOptionsSchema = z
  .object({
    workers: z.number().int().min(1).max(256).optional(),
  })
  .strict();

/** Options as callers give them: any subset, plus how many threads to use. */
export type InpaintOptionsInput = Partial<PlanOptions> & { workers?: number };

export interface RunOptions {
  /** Threads in all (the calling thread counts as one); default: the number of cores. */
  workers: number | undefined;
}

function explain(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.join('.') || 'options';
      return `${field} ${issue.message}`;
    })
    .join('; ');
}

/** Fills in defaults and checks ranges; throws KernelError BAD_OPTION saying what to change. */
export function resolveOptions(input: InpaintOptionsInput = {}): { plan: PlanOptions; run: RunOptions } {
  if (input === null || typeof input !== 'object') throw new KernelError('BAD_OPTION', 'options must be an object');
  const { workers, ...rest } = input;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULT_OPTIONS, ...defined };
  // A caller who lowers maxIterations below the default minimum (1 iteration: a quick preview)
  // asks for at most that many; the default minimum follows. Both given and in conflict: an error below.
  if (rest.minIterations === undefined && typeof merged.maxIterations === 'number' && merged.maxIterations < merged.minIterations) {
    merged.minIterations = Math.max(1, merged.maxIterations);
  }
  const parsed = planOptionsSchema.safeParse(merged);
  if (!parsed.success) throw new KernelError('BAD_OPTION', `bad option: ${explain(parsed.error)}`);
  const run = runOptionsSchema.safeParse({ workers });
  if (!run.success) throw new KernelError('BAD_OPTION', `bad option: ${explain(run.error)}`);
  const plan = parsed.data as PlanOptions;
  if (plan.minIterations > plan.maxIterations) {
    throw new KernelError('BAD_OPTION', `bad option: minIterations (${plan.minIterations}) exceeds maxIterations (${plan.maxIterations}); lower minIterations or raise maxIterations`);
  }
  return { plan, run: { workers: run.data.workers } };
}
