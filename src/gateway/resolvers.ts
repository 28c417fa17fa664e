// Resolvers: a thin translation between the schema (schema.graphql) and JobService. Enum values
// are upper-case in GraphQL (CIE76) and lower-case in the contract (cie76); image refs gain a URL;
// paging arguments are checked here so the job service sees only sane values.
import type { IResolvers } from '@graphql-tools/utils';
import type { ColorDistance, CreateJobInput, ImageRef, JobStatus, JobView } from '../actors/jobs/types.ts';
import type { GatewayContext } from './context.ts';
import { ErrorCode, gatewayError, notFound } from './errors.ts';
import { PAGE_SIZES } from './limits/query-limits.ts';

const MAX_ID_LENGTH = 256;
const MAX_KEY_LENGTH = 256;
const MAX_DONORS = 8;

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw gatewayError(ErrorCode.badUserInput, `${what} must be a non-empty id of at most ${MAX_ID_LENGTH} characters.`, { reason: 'BAD_ID' });
  }
  return id;
}

function checkFirst(first: unknown, field: keyof typeof PAGE_SIZES): number {
  const { default: def, max } = PAGE_SIZES[field];
  if (first === undefined || first === null) return def;
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > max) {
    throw gatewayError(ErrorCode.badUserInput, `${field}(first:) must be between 1 and ${max}.`, { reason: 'BAD_PAGE_SIZE' });
  }
  return first;
}

function checkCursor(after: unknown): string | null {
  if (after === undefined || after === null) return null;
  if (typeof after !== 'string' || after.length > 1024) throw gatewayError(ErrorCode.badUserInput, 'after must be a cursor from pageInfo.endCursor.', { reason: 'BAD_CURSOR' });
  return after;
}

const toDistance = (d: string): ColorDistance => (d === 'CIE2000' ? 'cie2000' : 'cie76');

interface CreateArgs {
  input: {
    imageId: string;
    maskId: string;
    donorIds?: string[] | null;
    options?: { patchSize?: number | null; seed?: number | null; maxIterations?: number | null; distance?: string | null } | null;
    idempotencyKey?: string | null;
  };
}

function toCreateInput(args: CreateArgs): CreateJobInput {
  const i = args.input;
  const donorIds = i.donorIds ?? undefined;
  if (donorIds && donorIds.length > MAX_DONORS) throw gatewayError(ErrorCode.badUserInput, `at most ${MAX_DONORS} donor masks.`, { reason: 'TOO_MANY_DONORS' });
  if (i.idempotencyKey != null && (i.idempotencyKey.length === 0 || i.idempotencyKey.length > MAX_KEY_LENGTH)) {
    throw gatewayError(ErrorCode.badUserInput, `idempotencyKey must have 1 to ${MAX_KEY_LENGTH} characters.`, { reason: 'BAD_IDEMPOTENCY_KEY' });
  }
  const input: CreateJobInput = { imageId: checkId(i.imageId, 'imageId'), maskId: checkId(i.maskId, 'maskId') };
  if (donorIds) input.donorIds = donorIds.map((d) => checkId(d, 'donorIds'));
  if (i.idempotencyKey != null) input.idempotencyKey = i.idempotencyKey;
  if (i.options) {
    const o = i.options;
    input.options = {};
    if (o.patchSize != null) input.options.patchSize = o.patchSize;
    if (o.seed != null) input.options.seed = o.seed;
    if (o.maxIterations != null) input.options.maxIterations = o.maxIterations;
    if (o.distance != null) input.options.distance = toDistance(o.distance);
  }
  return input;
}

function imageOut(ref: ImageRef | null, ctx: GatewayContext) {
  return ref ? { ...ref, url: ctx.blobUrl(ref.id) } : null;
}

async function historyPage(job: JobView, args: { first?: number | null; after?: string | null }, ctx: GatewayContext) {
  const page = await ctx.jobs.history(ctx.tenant, job.id, { first: checkFirst(args.first, 'history'), after: checkCursor(args.after) });
  return { nodes: page.items, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
}

type Ctx = GatewayContext;

export const resolvers: IResolvers<unknown, Ctx> = {
  Query: {
    // Null with a NOT_FOUND error, for a missing job and another tenant's alike.
    job: async (_: unknown, args: { id: string }, ctx: Ctx) => {
      const view = await ctx.jobs.get(ctx.tenant, checkId(args.id, 'id'));
      if (!view) throw notFound('job', args.id);
      return view;
    },
    jobs: async (_: unknown, args: { first?: number | null; after?: string | null; status?: JobStatus | null }, ctx: Ctx) => {
      const page = await ctx.jobs.list(ctx.tenant, { first: checkFirst(args.first, 'jobs'), after: checkCursor(args.after), status: args.status ?? null });
      const last = page.items.length - 1;
      return {
        nodes: page.items,
        edges: page.items.map((node, i) => ({ node, cursor: i === last ? page.endCursor : null })),
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
      };
    },
    kernelNodes: async (_: unknown, __: unknown, ctx: Ctx) => ctx.kernelNodes(),
  },
  Mutation: {
    createInpaintJob: async (_: unknown, args: CreateArgs, ctx: Ctx) => ctx.jobs.create(ctx.tenant, toCreateInput(args)),
    cancelJob: async (_: unknown, args: { id: string }, ctx: Ctx) => ctx.jobs.cancel(ctx.tenant, checkId(args.id, 'id')),
    pauseJob: async (_: unknown, args: { id: string }, ctx: Ctx) => ctx.jobs.pause(ctx.tenant, checkId(args.id, 'id')),
    resumeJob: async (_: unknown, args: { id: string }, ctx: Ctx) => ctx.jobs.resume(ctx.tenant, checkId(args.id, 'id')),
    acceptJob: async (_: unknown, args: { id: string }, ctx: Ctx) => ctx.jobs.accept(ctx.tenant, checkId(args.id, 'id')),
  },
  Subscription: {
    jobUpdates: {
      subscribe: async (_: unknown, args: { id: string }, ctx: Ctx) => ctx.hub.subscribe(ctx.tenant, checkId(args.id, 'id')),
      resolve: (view: JobView) => view,
    },
  },
  InpaintJob: {
    image: (job: JobView, _: unknown, ctx: Ctx) => imageOut(job.image, ctx),
    mask: (job: JobView, _: unknown, ctx: Ctx) => imageOut(job.mask, ctx),
    donors: (job: JobView, _: unknown, ctx: Ctx) => job.donors.map((d) => imageOut(d, ctx)),
    preview: (job: JobView, _: unknown, ctx: Ctx) => imageOut(job.preview, ctx),
    result: (job: JobView, _: unknown, ctx: Ctx) => imageOut(job.result, ctx),
    history: (job: JobView, args: { first?: number | null; after?: string | null }, ctx: Ctx) => historyPage(job, args, ctx),
  },
  InpaintOptions: {
    distance: (o: JobView['options']) => o.distance.toUpperCase(),
  },
};
