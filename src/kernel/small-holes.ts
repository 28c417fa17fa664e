// Small holes: spots, brush strokes and wires, as opposed to a removed object. Their target
// patches are few, so they can afford more search than a level's default, and there the search
// decides the fill's quality more than anywhere: a diffusion fill (Navier-Stokes) is strong on
// them. What counts as small is geometry alone (the level's hole and patch radius), computed the
// same way by every thread and kernel node from the same LevelStatic, so the bytes do not depend
// on where a tile runs.
import { patchRadius } from './patch-size.ts';
import type { LevelStatic, PlanOptions } from './types.ts';

/**
 * A hole component (8-connected) of at most this many full-size pixels is small: a spot up to
 * about 50 px across, a stroke 10 px wide and 250 long, a wire. The shared cases' real holes (one
 * object each) are 4,500-41,000 px, so their fills do not change.
 */
export const SMALL_HOLE_AREA = 2500;

const cache = new WeakMap<LevelStatic, Uint8Array>();

/**
 * Per target patch of the level: 1 when every hole pixel it covers lies in a small hole component
 * (at most SMALL_HOLE_AREA / 4^level pixels of the level), else 0. Cached per LevelStatic.
 */
export function smallTargets(s: LevelStatic, options: PlanOptions): Uint8Array {
  const known = cache.get(s);
  if (known) return known;
  const { width, height, holePixels, targetIndex, targetHole, targetPixels } = s;
  const holes = holePixels.length;
  const limit = SMALL_HOLE_AREA / 4 ** s.level;
  // Component of every hole pixel (flood fill in hole-index order), then whether it is small.
  const component = new Int32Array(holes).fill(-1);
  const queue = new Int32Array(holes);
  const small: number[] = [];
  const holeAt = (p: number): number => {
    const t = targetIndex[p];
    return t < 0 ? -1 : targetHole[t];
  };
  for (let h0 = 0; h0 < holes; h0++) {
    if (component[h0] >= 0) continue;
    const c = small.length;
    component[h0] = c;
    let head = 0;
    let tail = 0;
    queue[tail++] = h0;
    while (head < tail) {
      const p = holePixels[queue[head++]];
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width || (dx === 0 && dy === 0)) continue;
          const h = holeAt(yy * width + xx);
          if (h < 0 || component[h] >= 0) continue;
          component[h] = c;
          queue[tail++] = h;
        }
      }
    }
    small.push(tail <= limit ? 1 : 0);
  }
  const out = new Uint8Array(targetPixels.length);
  // One object's hole (every shared case): nothing to mark, no patch to scan.
  if (!small.includes(1)) {
    cache.set(s, out);
    return out;
  }
  const r = patchRadius(options, s.level);
  for (let t = 0; t < targetPixels.length; t++) {
    const p = targetPixels[t];
    const x = p % width;
    const y = (p - x) / width;
    let all = 1;
    for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r) && all; yy++) {
      for (let xx = Math.max(0, x - r); xx <= Math.min(width - 1, x + r); xx++) {
        const h = holeAt(yy * width + xx);
        if (h >= 0 && !small[component[h]]) {
          all = 0;
          break;
        }
      }
    }
    out[t] = all;
  }
  cache.set(s, out);
  return out;
}
