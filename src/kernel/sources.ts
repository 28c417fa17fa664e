// Lookups on a level's static data that the static arrays leave implicit, kept small on purpose:
// a hole index is found through the target index (every hole pixel centres a target patch), and
// a random valid source is drawn by rejection, so no full-size index or source list is stored.
import type { Xorshift32 } from './prng.ts';
import type { LevelStatic } from './types.ts';

/** The hole index of pixel p, or -1 for a known pixel. */
export function holeIndexAt(s: LevelStatic, p: number): number {
  const t = s.targetIndex[p];
  return t < 0 ? -1 : s.targetHole[t];
}

/** A uniformly drawn valid source centre (pixel index); the level must have one. */
export function randomSource(s: LevelStatic, r: number, rng: Xorshift32): number {
  const { width, height, validSource } = s;
  const w = width - 2 * r;
  const h = height - 2 * r;
  for (let k = 0; k < 32; k++) {
    const q = (r + rng.below(h)) * width + r + rng.below(w);
    if (validSource[q]) return q;
  }
  // Sparse sources (a small donor area): the next valid pixel after a random start, wrapping.
  const n = width * height;
  const start = rng.below(n);
  for (let i = 0; i < n; i++) {
    const q = (start + i) % n;
    if (validSource[q]) return q;
  }
  throw new Error('randomSource: level has no valid source');
}
