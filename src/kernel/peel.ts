// The top level's first guess: the hole is peeled from its boundary inwards, one ring at a time;
// each pixel takes the centre of the source patch that best matches the already-known part of
// its own patch (Criminisi-style greedy filling, without the priority order). Structure reaching
// the boundary is carried into the hole, which a diffusion fill would smear; EM then refines it.
import type { LevelStatic, PlanOptions } from './types.ts';
import type { Xorshift32 } from './prng.ts';
import { patchRadius } from './patch-size.ts';
import { holeIndexAt, randomSource } from './sources.ts';

/** Below this many sources, every source is tried for every pixel (the top level is small). */
const EXHAUSTIVE_SOURCES = 4000;
/** Otherwise: random sources tried per pixel, before the shrinking-window search. */
const RANDOM_TRIES = 8;

export interface PeelResult {
  /** Lab of each hole pixel, 3 floats per hole index. */
  values: Float32Array;
  /** The source patch centre each hole pixel copied its value from. */
  match: Int32Array;
}

export function peelByPatches(s: LevelStatic, options: PlanOptions, rng: Xorshift32): PeelResult {
  const { width, height, lab, holePixels, validSource, sourceCount } = s;
  const r = patchRadius(options, s.level);
  const n = width * height;
  const holeCount = holePixels.length;
  const work = Float32Array.from(lab);
  const filled = new Uint8Array(n);
  filled.fill(1);
  for (let h = 0; h < holeCount; h++) filled[holePixels[h]] = 0;
  const values = new Float32Array(holeCount * 3);
  const match = new Int32Array(holeCount).fill(-1);
  const done = new Uint8Array(holeCount);
  const exhaustive = sourceCount <= EXHAUSTIVE_SOURCES;
  const maxRadius = Math.max(width, height);
  // The proximity prior of the search (tile-step.ts), per patch: nearer sources win ties.
  const penK = (options.proximity * (2 * r + 1) ** 2) / maxRadius;
  let remaining = holeCount;
  const layer: number[] = [];

  // A pixel's patch, gathered once per pixel (its filled pixels do not change within a layer: a
  // layer's own pixels count as filled only after the layer): the filled pixels inside the
  // image as offsets from the centre, in scan order, with their Lab, and where each row inside
  // the image ends. The masked SSD then reads only those; it sums and stops early exactly as a
  // scan of the whole patch would (same order, a check after every row inside the image).
  const side = 2 * r + 1;
  const offs = new Int32Array(side * side);
  const tv = new Float32Array(side * side * 3);
  const rowEnd = new Int32Array(side);
  let rows = 0;
  const gather = (p: number, x: number, y: number): void => {
    let k = 0;
    rows = 0;
    for (let dy = -r; dy <= r; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= height) continue;
      for (let dx = -r; dx <= r; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= width) continue;
        const t = p + dy * width + dx;
        if (!filled[t]) continue;
        offs[k] = dy * width + dx;
        tv[k * 3] = work[t * 3];
        tv[k * 3 + 1] = work[t * 3 + 1];
        tv[k * 3 + 2] = work[t * 3 + 2];
        k++;
      }
      rowEnd[rows++] = k;
    }
  };
  // Masked SSD of the gathered patch against source q; `limit` stops early.
  const maskedSsd = (q: number, limit: number): number => {
    let sum = 0;
    let k = 0;
    for (let row = 0; row < rows; row++) {
      const end = rowEnd[row];
      for (; k < end; k++) {
        const u = (q + offs[k]) * 3;
        const i = k * 3;
        const a = tv[i] - lab[u];
        const b = tv[i + 1] - lab[u + 1];
        const c = tv[i + 2] - lab[u + 2];
        sum += a * a + b * b + c * c;
      }
      if (sum >= limit) return sum;
    }
    return sum;
  };
  // The exhaustive search's sources in index order (ties go to the lower index) with their x, y.
  const sources = new Int32Array(exhaustive ? sourceCount : 0);
  const sourceX = new Int32Array(sources.length);
  const sourceY = new Int32Array(sources.length);
  if (exhaustive) {
    let k = 0;
    for (let q = 0; q < n; q++) {
      if (!validSource[q]) continue;
      sources[k] = q;
      sourceX[k] = q % width;
      sourceY[k++] = Math.floor(q / width);
    }
  }

  // The pixel being matched and its best source so far; the candidate functions below are made
  // once, not per pixel, and read these.
  let px = 0;
  let py = 0;
  let best = -1;
  let bestD = Infinity;
  const penaltyTo = (q: number): number => {
    const qx = q % width;
    const qy = (q - qx) / width;
    return penK * Math.sqrt((qx - px) * (qx - px) + (qy - py) * (qy - py));
  };
  // A candidate source measured with the best distance so far as the bound (random search).
  const tryBounded = (q: number): void => {
    if (q < 0 || q >= n || q === best || !validSource[q]) return;
    const pen = penaltyTo(q);
    if (pen >= bestD) return;
    const d = pen + maskedSsd(q, bestD - pen);
    if (d < bestD) {
      bestD = d;
      best = q;
    }
  };
  // A candidate measured in full; ties go to the lower index (the exhaustive scan's rule).
  const tryFull = (q: number): void => {
    if (q < 0 || q >= n || q === best || !validSource[q]) return;
    const d = penaltyTo(q) + maskedSsd(q, Infinity);
    if (d < bestD || (d === bestD && q < best)) {
      bestD = d;
      best = q;
    }
  };
  // The sources the pixel's already matched neighbours copied, shifted to the pixel.
  const offerNeighbours = (offer: (q: number) => void): void => {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const xx = px + dx;
        const yy = py + dy;
        if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
        const hn = holeIndexAt(s, yy * width + xx);
        if (hn >= 0 && done[hn]) offer(match[hn] - dy * width - dx);
      }
    }
  };

  while (remaining > 0) {
    layer.length = 0;
    for (let h = 0; h < holeCount; h++) {
      if (done[h]) continue;
      const p = holePixels[h];
      const x = p % width;
      const y = (p - x) / width;
      let touches = false;
      for (let dy = -1; dy <= 1 && !touches; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < width && filled[yy * width + xx]) {
            touches = true;
            break;
          }
        }
      }
      if (touches) layer.push(h);
    }
    if (layer.length === 0) break; // unreachable while a known pixel exists; guards the loop
    for (const h of layer) {
      const p = holePixels[h];
      px = p % width;
      py = (p - px) / width;
      best = -1;
      bestD = Infinity;
      gather(p, px, py);
      if (exhaustive) {
        // A bound first, from the sources the neighbours of earlier rings copied, shifted
        // (coherence): with it most sources fall to the proximity prior or to the first rows of
        // the SSD. The scan keeps the smallest distance and, among equal ones, the lowest index,
        // which is what a scan in index order without the bound keeps: a source that only ties
        // is taken if its index is lower, on its full distance.
        offerNeighbours(tryFull);
        for (let k = 0; k < sources.length; k++) {
          const dx = sourceX[k] - px;
          const dy = sourceY[k] - py;
          const pen = penK * Math.sqrt(dx * dx + dy * dy);
          const q = sources[k];
          if (pen > bestD || q === best) continue;
          const d = pen + maskedSsd(q, bestD - pen);
          if (d < bestD) {
            bestD = d;
            best = q;
          } else if (d === bestD && q < best && pen + maskedSsd(q, Infinity) === bestD) {
            best = q;
          }
        }
      } else {
        // Neighbours already matched suggest their source, shifted (coherence).
        offerNeighbours(tryBounded);
        for (let k = 0; k < RANDOM_TRIES; k++) tryBounded(randomSource(s, r, rng));
        if (best < 0) best = randomSource(s, r, rng);
        const bx = best % width;
        const by = (best - bx) / width;
        for (let radius = maxRadius; radius >= 1; radius >>= 1) {
          const cx = Math.min(Math.max(bx + rng.below(2 * radius + 1) - radius, r), width - 1 - r);
          const cy = Math.min(Math.max(by + rng.below(2 * radius + 1) - radius, r), height - 1 - r);
          tryBounded(cy * width + cx);
        }
      }
      match[h] = best;
      work[p * 3] = values[h * 3] = lab[best * 3];
      work[p * 3 + 1] = values[h * 3 + 1] = lab[best * 3 + 1];
      work[p * 3 + 2] = values[h * 3 + 2] = lab[best * 3 + 2];
    }
    for (const h of layer) {
      done[h] = 1;
      filled[holePixels[h]] = 1;
    }
    remaining -= layer.length;
  }
  return { values, match };
}
