// States a node assembled, by what they were assembled from (job, previous state header, result
// blob ids): the call that finds a level converged and the call that then starts the next level,
// or a preview of the same step, assemble it once. Least recently used first out, bounded in bytes.
import { createHash } from 'node:crypto';
import type { LevelState } from '../types.ts';

export function stateKey(jobKey: string, header: Uint8Array, resultIds: readonly string[]): string {
  const h = createHash('sha256').update(jobKey).update('\0').update(header);
  for (const id of resultIds) h.update('\0').update(id);
  return h.digest('hex');
}

const bytesOf = (s: LevelState): number => s.values.byteLength + s.nnf.byteLength + s.dist.byteLength;

export class StateCache {
  readonly maxBytes: number;
  readonly #entries = new Map<string, LevelState>();
  readonly #building = new Map<string, Promise<LevelState>>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /**
   * The state under `key`, built by `build` if absent; concurrent callers (two chunks of one step
   * arriving together) share one build.
   */
  async getOrBuild(key: string, build: () => Promise<LevelState>): Promise<LevelState> {
    const hit = this.get(key);
    if (hit) return hit;
    let building = this.#building.get(key);
    if (!building) {
      building = build().then((state) => {
        this.set(key, state);
        return state;
      });
      this.#building.set(key, building);
      building.finally(() => this.#building.delete(key)).catch(() => undefined);
    }
    return building;
  }

  get(key: string): LevelState | undefined {
    const s = this.#entries.get(key);
    if (s) {
      this.#entries.delete(key);
      this.#entries.set(key, s);
    }
    return s;
  }

  set(key: string, state: LevelState): void {
    if (this.#entries.has(key) || bytesOf(state) > this.maxBytes) return;
    this.#entries.set(key, state);
    this.#bytes += bytesOf(state);
    for (const [k, s] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= bytesOf(s);
    }
  }
}
