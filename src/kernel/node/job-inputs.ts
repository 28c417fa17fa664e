// Reading what a call needs: blobs (cache, peer pushes, Object Store), the job's prepared data
// (prepared here on first use: any node can take any call, which failover relies on), and the
// tile results of a step.
import { assertBlobId } from '../../common/blob-store.ts';
import { KernelError } from '../errors.ts';
import { decodeImage } from '../image-io.ts';
import { donorUnion, maskToBinary } from '../mask.ts';
import { checkImage } from '../prepare.ts';
import { toShared } from '../shared-memory.ts';
import type { LevelStatic, TileResult } from '../types.ts';
import { decodeResultBatch } from '../cluster/result-batch.ts';
import { jobKeyOf, planOptionsOf } from '../cluster/wire.ts';
import type { JobSpec, ResultRef } from '../generated/patchwork/kernel/v1/kernel.ts';
import { badRequest, badStep, type ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';
import { jobBytes, type Acquired, type PreparedJob } from './job-cache.ts';

export async function readBlob(deps: ServiceDeps, id: string, usage: CallUsage, pushWaitMs = 0): Promise<Uint8Array> {
  const { bytes, hit } = await deps.cache.get(id, pushWaitMs);
  if (hit) usage.cacheHits++;
  else {
    usage.cacheMisses++;
    usage.bytesRead += bytes.length;
  }
  return bytes;
}

async function loadJob(deps: ServiceDeps, key: string, spec: JobSpec, usage: CallUsage): Promise<PreparedJob> {
  const options = planOptionsOf(spec);
  const ids = [spec.imageBlobId, spec.maskBlobId, ...spec.donorBlobIds];
  const blobs = await Promise.all(ids.map((id) => readBlob(deps, id, usage)));
  const t0 = performance.now();
  const decoded = await Promise.all(blobs.map((b, i) => decodeImage(b, i === 0 ? 'image' : i === 1 ? 'mask' : 'donor mask')));
  const [photo, mask, ...donors] = decoded;
  checkImage(photo);
  const hole = maskToBinary(mask, photo.width, photo.height);
  const donor = donorUnion(donors, photo.width, photo.height);
  const image = { width: photo.width, height: photo.height, data: toShared(photo.data, true) };
  usage.kernelMs += performance.now() - t0;
  const { prepared, ms } = await deps.pool.prepare(image, hole, donor, options);
  usage.kernelMs += ms;
  deps.pool.addJob(key, { image, levels: prepared.levels, options });
  deps.log.debug({ jobKey: key, jobId: spec.jobId, levels: prepared.levels.length, ms: Math.round(ms) }, 'prepared job');
  return { key, options, image, plan: prepared.plan, levels: prepared.levels, bytes: jobBytes(image, prepared.levels) };
}

/** The job's prepared data, pinned until `release()`. */
export async function acquireJob(deps: ServiceDeps, spec: JobSpec | undefined, usage: CallUsage): Promise<Acquired> {
  if (!spec) throw badRequest('the request has no job: give the job spec (image, mask, options)');
  assertBlobId(spec.imageBlobId);
  assertBlobId(spec.maskBlobId);
  spec.donorBlobIds.forEach(assertBlobId);
  const options = planOptionsOf(spec);
  const key = jobKeyOf(spec, options);
  // Follow the job's pushes from the start: peers may finish a step before this node has prepared.
  deps.hints.follow(key);
  deps.team.follow(key);
  try {
    return await deps.jobs.acquire(key, (k) => loadJob(deps, k, spec, usage));
  } catch (e) {
    if (!deps.jobs.has(key)) {
      deps.hints.unfollow(key);
      deps.team.unfollow(key);
    }
    throw e;
  }
}

export function levelOf(job: PreparedJob, level: number): LevelStatic {
  if (job.levels.length === 0) throw badStep('the job has no hole: there is nothing to step; call Finish');
  const s = job.levels[level];
  if (!s) throw badStep(`level ${level} does not exist: the job has levels 0..${job.levels.length - 1}`);
  return s;
}

/** The results in `refs`, in tile order, checked against what each ref says it holds. */
export async function readResults(deps: ServiceDeps, refs: readonly ResultRef[], usage: CallUsage): Promise<TileResult[]> {
  const batches = await Promise.all(
    refs.map(async (ref) => {
      assertBlobId(ref.blobId);
      return { ref, bytes: await readBlob(deps, ref.blobId, usage, deps.pushWaitMs) };
    }),
  );
  const byTile = new Map<number, TileResult>();
  usage.time(() => {
    for (const { ref, bytes } of batches) {
      const results = decodeResultBatch(bytes);
      const tiles = results.map((r) => r.tile);
      if (tiles.length !== ref.tiles.length || tiles.some((t, i) => t !== ref.tiles[i])) {
        throw new KernelError('BAD_DATA', `blob ${ref.blobId} holds tiles ${tiles.join(',')}, its ref says ${ref.tiles.join(',')}`);
      }
      for (const r of results) {
        if (byTile.has(r.tile)) throw new KernelError('BAD_DATA', `tile ${r.tile} appears in two result blobs`);
        byTile.set(r.tile, r);
      }
    }
  });
  const out = [...byTile.values()].sort((a, b) => a.tile - b.tile);
  const first = out[0];
  if (first && out.some((r) => r.level !== first.level || r.iteration !== first.iteration)) {
    throw new KernelError('BAD_DATA', 'the results given are of more than one step');
  }
  return out;
}
