// Runs a step's tiles on the worker pool and stores their results in batches as they come in,
// so storing overlaps computing; each batch is also pushed to the job's other nodes first. A team
// run's step that needs no durable results (store_last_step_only, not the run's last step) holds
// its batches in the node's cache instead, stored only if the step turns out to end the run.
import { blobIdOf } from '../../common/blob-store.ts';
import { encodeResultBatch } from '../cluster/result-batch.ts';
import type { TileMode } from '../pool-protocol.ts';
import { toShared } from '../shared-memory.ts';
import type { LevelState, TileResult } from '../types.ts';
import type { ResultRef } from '../generated/patchwork/kernel/v1/kernel.ts';
import type { ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';
import type { PreparedJob } from './job-cache.ts';

interface HeldBatch {
  bytes: Uint8Array;
  id: string;
  tiles: number[];
}

/** Stores tile results in batches of about `batchBytes` as they arrive (or holds them, see `store`). */
class ResultBatcher {
  readonly #deps: ServiceDeps;
  readonly #jobKey: string;
  readonly #usage: CallUsage;
  readonly #push: boolean;
  #pending: TileResult[] = [];
  #pendingBytes = 0;
  readonly #stores: Promise<ResultRef>[] = [];
  readonly #hashAll: boolean;
  readonly #store: boolean;
  readonly #held: HeldBatch[] = [];
  /** Refs of the batches flushed so far (ids hashed at flush time), when `hashAll`. */
  readonly known: ResultRef[] = [];
  /** Whether every batch so far was pushed to the peers (false: some only reach them via the store). */
  allPushed = true;

  /**
   * `store` false: batches that were pushed are kept in the node's cache only (peers that ask
   * again are answered from there) until `storeHeld`; a batch that could not be pushed is stored
   * at once all the same (the peers read it from the store).
   */
  constructor(deps: ServiceDeps, jobKey: string, usage: CallUsage, push: boolean, hashAll = false, store = true) {
    this.#deps = deps;
    this.#jobKey = jobKey;
    this.#usage = usage;
    this.#push = push;
    this.#hashAll = hashAll;
    this.#store = store;
  }

  add(r: TileResult): void {
    this.#pending.push(r);
    this.#pendingBytes += r.values.byteLength + r.nnf.byteLength + r.dist.byteLength;
    if (this.#pendingBytes >= this.#deps.batchBytes) this.flush();
  }

  flush(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending.sort((a, b) => a.tile - b.tile);
    this.#pending = [];
    this.#pendingBytes = 0;
    const bytes = this.#usage.time(() => encodeResultBatch(batch));
    // Push to peers first: they get the bytes while the store write is under way. The id is
    // hashed once, here, for both the push and the store (a second SHA-256 of every batch cost
    // ~10 ms of CPU per 1024x768 fill).
    const id = this.#hashAll || !this.#store || (this.#push && this.#deps.hints.enabled) ? blobIdOf(bytes) : undefined;
    const pushed = id !== undefined && this.#push && this.#deps.hints.publish(this.#jobKey, id, bytes);
    if (!pushed) this.allPushed = false;
    const tiles = batch.map((r) => r.tile);
    if (this.#hashAll) this.known.push({ blobId: id!, size: bytes.length, tiles });
    if (this.#store || !pushed) this.#put(bytes, id, tiles);
    else {
      this.#deps.cache.hold(id!, bytes);
      this.#held.push({ bytes, id: id!, tiles });
    }
  }

  #put(bytes: Uint8Array, id: string | undefined, tiles: number[]): void {
    const store = this.#deps.cache.put(bytes, true, id).then((ref) => {
      this.#usage.bytesWritten += bytes.length;
      return { blobId: ref.id, size: ref.size, tiles };
    });
    // Observed at once: done() / settle() await it later, and a store failing before (JetStream
    // unavailable while NATS servers restart) must fail the call there, not kill the node as an
    // unhandled rejection (found by the fault suite's NATS rolling restart with team runs).
    store.catch(() => undefined);
    this.#stores.push(store);
  }

  /** Stores the batches held back; every batch's ref, in tile order, once all are stored. */
  storeHeld(): Promise<ResultRef[]> {
    for (const b of this.#held.splice(0)) this.#put(b.bytes, b.id, b.tiles);
    return this.done();
  }

  /** Every batch stored (but those held back); refs in tile order. */
  async done(): Promise<ResultRef[]> {
    this.flush();
    const refs = await Promise.all(this.#stores);
    return refs.sort((a, b) => a.tiles[0] - b.tiles[0]);
  }

  /** Waits for stores already started (after a failure), ignoring their errors. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#stores);
  }
}

/** Stores the results of a step that ran elsewhere (a worker's continue run), in batches. */
export function storeResults(deps: ServiceDeps, jobKey: string, results: readonly TileResult[], usage: CallUsage, push: boolean): Promise<ResultRef[]> {
  const batcher = new ResultBatcher(deps, jobKey, usage, push);
  for (const r of results) batcher.add(r);
  return batcher.done();
}

/** The state on shared memory (workers read it without a copy); a state already there is kept as is. */
export function shareState(state: LevelState): LevelState {
  if (state.values.buffer instanceof SharedArrayBuffer && state.nnf.buffer instanceof SharedArrayBuffer && state.dist.buffer instanceof SharedArrayBuffer) return state;
  return { ...state, values: toShared(state.values, true), nnf: toShared(state.nnf, true), dist: toShared(state.dist, true) };
}

export interface TileRun {
  /** In the order of `tiles`. */
  results: TileResult[];
  /** Settles when every batch is stored (with `store` false: every batch that was not held back). */
  refs: Promise<ResultRef[]>;
  /** Stores the batches held back (`store` false) too; settles with every batch's ref. */
  storeHeld: () => Promise<ResultRef[]>;
  changed: number;
  tileMs: Record<number, number>;
  /** With `announce`: every batch's ref, known before the stores complete (ids hashed up front). */
  known: ResultRef[];
  /** With `announce`: whether every batch was pushed to the job's other nodes. */
  allPushed: boolean;
}

/**
 * Runs `tiles` of one step from `state`. A call that goes on to the next step (continue mode)
 * needs only `results` and awaits `refs` at the end, so stores never hold up computing. With
 * `store` false, batches that were pushed are held in the cache until `storeHeld`. With `keep`
 * false the results are only returned: not encoded, pushed, held nor stored (a team member
 * computing an absent peer's share, which that peer stored itself); `refs` and `known` are empty.
 */
export async function runTiles(deps: ServiceDeps, job: PreparedJob, level: number, state: LevelState, tiles: readonly number[], mode: TileMode, usage: CallUsage, push: boolean, signal?: AbortSignal, announce = false, store = true, keep = true): Promise<TileRun> {
  // On shared memory, every worker reads the state without a copy.
  const stateId = deps.pool.addState(usage.time(() => shareState(state)));
  const batcher = keep ? new ResultBatcher(deps, job.key, usage, push, announce, store) : undefined;
  const results = new Array<TileResult>(tiles.length);
  const tileMs: Record<number, number> = {};
  let changed = 0;
  let remaining = tiles.length;
  try {
    await Promise.all(
      tiles.map(async (tile, i) => {
        const { result, ms } = await deps.pool.tile(job.key, stateId, level, tile, mode, signal);
        usage.kernelMs += ms;
        tileMs[tile] = Math.round(ms * 100) / 100;
        changed += result.changed;
        results[i] = result;
        batcher?.add(result);
        // When only the last tiles are still running, store what is pending now, so the batch
        // left to store after them (on the call's critical path) is small.
        if (--remaining > 0 && remaining <= deps.pool.size) batcher?.flush();
      }),
    );
  } catch (e) {
    await batcher?.settle();
    throw e;
  } finally {
    deps.pool.dropState(stateId);
  }
  const refs = batcher ? batcher.done() : Promise.resolve([]);
  refs.catch(() => undefined); // observed by the caller; never an unhandled rejection
  const known = [...(batcher?.known ?? [])].sort((a, b) => a.tiles[0] - b.tiles[0]);
  const storeHeld = (): Promise<ResultRef[]> => {
    const all = batcher ? batcher.storeHeld() : Promise.resolve([]);
    all.catch(() => undefined); // observed by the caller
    return all;
  };
  return { results, refs, storeHeld, changed, tileMs, known, allPushed: batcher?.allPushed ?? true };
}
