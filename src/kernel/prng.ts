// Seeded randomness. Every random choice of a run is drawn from a stream keyed by
// (seed, level, iteration, tile), so a tile's result depends on nothing but its inputs: not on
// the thread, node or order that ran it. Math.random is never used.

/** 32-bit mix (the finaliser of MurmurHash3): spreads nearby keys over the whole range. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The stream seed of (seed, level, iteration, tile). Iteration -1 is a level's initialisation. */
export function streamSeed(seed: number, level: number, iteration: number, tile: number): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(level + 1, 0x27d4eb2f));
  h = mix32(h ^ Math.imul(iteration + 2, 0x165667b1));
  h = mix32(h ^ Math.imul(tile + 1, 0x61c88647));
  return h === 0 ? 0x6d2b79f5 : h;
}

/**
 * xorshift32: tiny state, fast, good enough to pick search candidates. Hot loops copy `state`
 * into a local, step it inline and store it back; this class is for the loops that are not hot.
 */
export class Xorshift32 {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x6d2b79f5;
  }

  /** Next value in [0, 2^32). */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}
