// Prepared jobs on a node: the decoded photo, the plan and every level's static data, keyed by
// job key (input blob ids + options), least recently used first out, bounded in bytes. A job in
// use by a call is pinned and never evicted under it. Concurrent calls for a job not yet here
// share one preparation.
import type { PlanOptions, Plan, LevelStatic, RgbaImage } from '../types.ts';

export interface PreparedJob {
  key: string;
  options: PlanOptions;
  /** The photo, on shared memory (workers read it for previews). */
  image: RgbaImage;
  plan: Plan;
  levels: LevelStatic[];
  bytes: number;
}

interface Entry {
  job: PreparedJob;
  pins: number;
}

export interface Acquired {
  job: PreparedJob;
  /** True when this call prepared the job (and paid for it). */
  prepared: boolean;
  release(): void;
}

export type JobLoader = (key: string) => Promise<PreparedJob>;

/** Bytes a job holds: every typed array of its levels plus the photo. */
export function jobBytes(image: RgbaImage, levels: readonly LevelStatic[]): number {
  let n = image.data.byteLength;
  for (const s of levels) {
    for (const v of Object.values(s)) if (ArrayBuffer.isView(v)) n += v.byteLength;
  }
  return n;
}

export class JobCache {
  readonly maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<PreparedJob>>();
  readonly #onEvict: (job: PreparedJob) => void;
  #bytes = 0;

  constructor(maxBytes: number, onEvict: (job: PreparedJob) => void) {
    this.maxBytes = maxBytes;
    this.#onEvict = onEvict;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key) || this.#loading.has(key);
  }

  async acquire(key: string, load: JobLoader): Promise<Acquired> {
    let prepared = false;
    let entry = this.#entries.get(key);
    if (!entry) {
      let loading = this.#loading.get(key);
      if (!loading) {
        prepared = true;
        loading = load(key);
        this.#loading.set(key, loading);
        loading.finally(() => this.#loading.delete(key)).catch(() => undefined);
      }
      const job = await loading;
      entry = this.#entries.get(key);
      if (!entry) {
        entry = { job, pins: 0 };
        this.#entries.set(key, entry);
        this.#bytes += job.bytes;
      }
    }
    // Most recently used last.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    entry.pins++;
    this.#evict();
    const e = entry;
    let released = false;
    return {
      job: e.job,
      prepared,
      release: () => {
        if (released) return;
        released = true;
        e.pins--;
        this.#evict();
      },
    };
  }

  #evict(): void {
    for (const [key, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      if (e.pins > 0) continue;
      this.#entries.delete(key);
      this.#bytes -= e.job.bytes;
      this.#onEvict(e.job);
    }
  }
}
