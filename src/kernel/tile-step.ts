// Step 3, the tile step: one EM iteration on one tile. It reads only the level's static data and
// the state at the start of the iteration (Jacobi across tiles), so its result does not depend on
// which tiles ran before it, where, or in what order.
//
//   vote:   every hole pixel within r of the tile gets the weighted mean of what the iteration-
//           start field's patches covering it copy there (each such pixel is voted by every tile
//           that needs it, from the same inputs, so all agree bit for bit);
//   search: every target patch centred in the tile improves its nearest neighbour against the
//           voted values by PatchMatch: propagation from its scan-order neighbours (inside the
//           tile: this iteration's results; outside: the iteration-start field), then random
//           search over shrinking windows around the best match.
import { featureWeight, windowFeatures } from './features.ts';
import { ssd2000, ssd76, ssd76Feat, ssdFeat, type SsdFn } from './patch-distance.ts';
import { offsetConfidence } from './offsets.ts';
import { patchRadius } from './patch-size.ts';
import { streamSeed } from './prng.ts';
import { smallTargets } from './small-holes.ts';
import type { LevelState, LevelStatic, PlanOptions, StateBuffers, TileResult } from './types.ts';

/** Levels from this one up search with COARSE_SEARCH_ROUNDS random-search sweeps per target, finer ones with one. */
export const COARSE_SEARCH_FROM_LEVEL = 2;
export const COARSE_SEARCH_ROUNDS = 4;

/** Random-search sweeps per target patch on a level. */
export function searchRounds(level: number): number {
  return level >= COARSE_SEARCH_FROM_LEVEL ? COARSE_SEARCH_ROUNDS : 1;
}

/**
 * Random-search sweeps of a target patch of a small hole (spots, strokes, wires: small-holes.ts)
 * on the full-size level, instead of one. There a diffusion fill is strong and the fill's PSNR is
 * decided by how good a match the search finds, and the sweeps are spent only there: a fill
 * with small holes costs 1.3-2.2x one thread, a fill of one object (the shared cases) is the same
 * bytes in the same time. bench:quality small holes, seeds 1 / 2 (dB / gradient ratio): 1 sweep
 * 23.50 / 0.865, 23.36 / 0.867; 16 sweeps 23.84 / 0.865, 23.95 / 0.860 (Navier-Stokes 23.52); 8:
 * 23.67 / 0.861, 23.85 / 0.858; more sweeps on level 1 too added nothing beyond noise (see
 * docs/architecture.md, Kernel, "Defaults and why").
 */
export const SMALL_SEARCH_ROUNDS = 16;

/**
 * The full-size level's final vote: this share of each hole pixel's value comes from its single
 * most trusted covering patch (highest vote weight), the rest from the weighted mean. The mean
 * alone blurs where patches disagree (Wexler et al. 2007); the best patch alone is sharp but
 * leaves staircase seams where neighbouring pixels pick different sources, and loses PSNR. A
 * blend's error is below the blend of the two errors, so 3/4 keeps most of the sharpness for
 * little PSNR (with proximity 80, small holes: gradient ratio 0.83 -> 0.865 at about NS's PSNR;
 * see docs/architecture.md, Kernel, "Defaults and why"). Ties go to the first patch in scan order.
 */
export const FINAL_BEST_SHARE = 0.75;

/** Reusable per-thread buffers, grown as needed; nothing is allocated per pixel. */
interface Scratch {
  start: Float32Array; // iteration-start values over the window
  next: Float32Array; // voted values over the window
  weight: Float32Array; // vote weight of the patch centred at each window pixel
  feat: Float32Array; // texture features of the voted values over the window (2 per pixel)
}

let scratch: Scratch = { start: new Float32Array(0), next: new Float32Array(0), weight: new Float32Array(0), feat: new Float32Array(0) };

function scratchFor(pixels: number): Scratch {
  if (scratch.weight.length < pixels) {
    const n = Math.max(pixels, scratch.weight.length * 2);
    scratch = { start: new Float32Array(n * 3), next: new Float32Array(n * 3), weight: new Float32Array(n), feat: new Float32Array(n * 2) };
  }
  return scratch;
}

/** Fills win over the window rect with the level image: known pixels static, hole pixels from `values`. */
function fillWindow(s: LevelStatic, values: Float32Array, win: Float32Array, wx0: number, wy0: number, ww: number, wh: number): void {
  const { width, lab, targetIndex, targetHole } = s;
  for (let y = 0; y < wh; y++) {
    const row = (wy0 + y) * width + wx0;
    let wi = y * ww * 3;
    for (let x = 0; x < ww; x++, wi += 3) {
      const p = row + x;
      const t = targetIndex[p];
      const h = t < 0 ? -1 : targetHole[t];
      if (h < 0) {
        win[wi] = lab[p * 3];
        win[wi + 1] = lab[p * 3 + 1];
        win[wi + 2] = lab[p * 3 + 2];
      } else {
        win[wi] = values[h * 3];
        win[wi + 1] = values[h * 3 + 1];
        win[wi + 2] = values[h * 3 + 2];
      }
    }
  }
}

/**
 * Steps 1-2 of a tile: vote weights of the patches in tile+2r, then the values of tile+r into
 * buf.next and, `withFeatures`, their texture features into buf.feat. `final`: the values blend
 * the best covering patch in (FINAL_BEST_SHARE).
 */
function voteWindow(
  s: LevelStatic,
  state: LevelState,
  options: PlanOptions,
  tx0: number,
  ty0: number,
  tx1: number,
  ty1: number,
  wx0: number,
  wy0: number,
  ww: number,
  wh: number,
  withFeatures: boolean,
  buf: Scratch,
  final: boolean,
): void {
  const { width, height, lab, targetIndex, targetHole, targetConfidence } = s;
  const r = patchRadius(options, s.level);
  const ssd: SsdFn = options.distance === 'cie2000' ? ssd2000 : ssd76;
  const { start, next, weight } = buf;
  const nnf0 = state.nnf;
  const dist0 = state.dist;
  // 1. Vote weights of the patches in tile+2r: confidence x similarity. Distances unknown at a
  //    level's first iteration are computed against the iteration-start values.
  const bx0 = Math.max(tx0 - 2 * r, 0);
  const by0 = Math.max(ty0 - 2 * r, 0);
  const bx1 = Math.min(tx1 + 2 * r, width);
  const by1 = Math.min(ty1 + 2 * r, height);
  let startFilled = false;
  const scale = state.voteScale;
  const prior = options.proximity / Math.max(width, height);
  for (let y = by0; y < by1; y++) {
    for (let x = bx0; x < bx1; x++) {
      const t = targetIndex[y * width + x];
      if (t < 0) continue;
      let d = dist0[t];
      if (d < 0) {
        if (!startFilled) {
          fillWindow(s, state.values, start, wx0, wy0, ww, wh);
          startFilled = true;
        }
        const dy0 = Math.max(-r, -y);
        const dy1 = Math.min(r, height - 1 - y);
        const dx0 = Math.max(-r, -x);
        const dx1 = Math.min(r, width - 1 - x);
        const count = (dy1 - dy0 + 1) * (dx1 - dx0 + 1);
        const q = nnf0[t];
        const qx = q % width;
        const qy = (q - qx) / width;
        d = ssd(start, ww, (y - wy0) * ww + (x - wx0), lab, width, q, dy0, dy1, dx0, dx1, Infinity) / count + prior * Math.sqrt((qx - x) * (qx - x) + (qy - y) * (qy - y));
      }
      weight[(y - wy0) * ww + (x - wx0)] = scale > 0 ? targetConfidence[t] * Math.exp(-d / scale) : targetConfidence[t];
    }
  }

  // 2. Vote every pixel of tile+r: known pixels as they are, hole pixels from the covering patches.
  //    With features, a hole pixel's features are voted alike, from the sources' features (as
  //    Newson et al. reconstruct them): computed from the voted colours instead, they would be
  //    those of a weighted mean, flatter than any source, and pull the search to flat sources.
  const ax0 = Math.max(tx0 - r, 0);
  const ay0 = Math.max(ty0 - r, 0);
  const ax1 = Math.min(tx1 + r, width);
  const ay1 = Math.min(ty1 + r, height);
  const { feat } = s;
  const wfeat = buf.feat;
  for (let y = ay0; y < ay1; y++) {
    for (let x = ax0; x < ax1; x++) {
      const p = y * width + x;
      const wi = ((y - wy0) * ww + (x - wx0)) * 3;
      const tp = targetIndex[p];
      const hp = tp < 0 ? -1 : targetHole[tp];
      if (hp < 0) {
        next[wi] = lab[p * 3];
        next[wi + 1] = lab[p * 3 + 1];
        next[wi + 2] = lab[p * 3 + 2];
        if (withFeatures) {
          const fi = (wi / 3) * 2;
          wfeat[fi] = feat[p * 2];
          wfeat[fi + 1] = feat[p * 2 + 1];
        }
        continue;
      }
      let sl = 0;
      let sa = 0;
      let sb = 0;
      let sw = 0;
      let sfx = 0;
      let sfy = 0;
      let bestW = -1;
      let bestSrc = -1;
      const py0 = Math.max(y - r, 0);
      const py1 = Math.min(y + r, height - 1);
      const px0 = Math.max(x - r, 0);
      const px1 = Math.min(x + r, width - 1);
      for (let py = py0; py <= py1; py++) {
        const rowP = py * width;
        const rowW = (py - wy0) * ww - wx0;
        // The source pixel is q + (p - patch centre).
        const offY = (y - py) * width;
        for (let px = px0; px <= px1; px++) {
          const t = targetIndex[rowP + px];
          const w = weight[rowW + px];
          const src = (nnf0[t] + offY + (x - px)) * 3;
          if (w > bestW) {
            bestW = w;
            bestSrc = src;
          }
          sl += w * lab[src];
          sa += w * lab[src + 1];
          sb += w * lab[src + 2];
          sw += w;
          if (withFeatures) {
            const sf = (src / 3) * 2;
            sfx += w * feat[sf];
            sfy += w * feat[sf + 1];
          }
        }
      }
      if (withFeatures) {
        const fi = (wi / 3) * 2;
        wfeat[fi] = sw > 0 ? sfx / sw : 0;
        wfeat[fi + 1] = sw > 0 ? sfy / sw : 0;
      }
      if (sw > 0 && final) {
        next[wi] = FINAL_BEST_SHARE * lab[bestSrc] + (1 - FINAL_BEST_SHARE) * (sl / sw);
        next[wi + 1] = FINAL_BEST_SHARE * lab[bestSrc + 1] + (1 - FINAL_BEST_SHARE) * (sa / sw);
        next[wi + 2] = FINAL_BEST_SHARE * lab[bestSrc + 2] + (1 - FINAL_BEST_SHARE) * (sb / sw);
      } else if (sw > 0) {
        next[wi] = sl / sw;
        next[wi + 1] = sa / sw;
        next[wi + 2] = sb / sw;
      } else {
        const h = hp * 3;
        next[wi] = state.values[h];
        next[wi + 1] = state.values[h + 1];
        next[wi + 2] = state.values[h + 2];
      }
    }
  }

}

/**
 * `mode` 'iterate' votes and searches (one EM iteration); 'vote' only votes, for the final values
 * of a level from its last field (the result then has empty nnf and dist). With `into`, the
 * result's arrays are views of the tile's ranges of `into` (written in place); without, new arrays.
 */
export function runTile(s: LevelStatic, state: LevelState, options: PlanOptions, tile: number, mode: 'iterate' | 'vote' = 'iterate', into?: StateBuffers): TileResult {
  const { width, height, lab, targetIndex, validSource } = s;
  const r = patchRadius(options, s.level);
  const ssd: SsdFn = options.distance === 'cie2000' ? ssd2000 : ssd76;
  const tx0 = s.tiles[4 * tile];
  const ty0 = s.tiles[4 * tile + 1];
  const tx1 = s.tiles[4 * tile + 2];
  const ty1 = s.tiles[4 * tile + 3];
  // Window = tile grown by 3r: the vote covers tile+r, needs patches in tile+2r, whose unknown
  // distances read pixels in tile+3r.
  const fw = featureWeight(s.level);
  const wx0 = Math.max(tx0 - 3 * r, 0);
  const wy0 = Math.max(ty0 - 3 * r, 0);
  const wx1 = Math.min(tx1 + 3 * r, width);
  const wy1 = Math.min(ty1 + 3 * r, height);
  const ww = wx1 - wx0;
  const wh = wy1 - wy0;
  const buf = scratchFor(ww * wh);
  const next = buf.next;
  const nnf0 = state.nnf;
  if (mode === 'iterate' && state.warmup > 0) {
    // Search-only iteration: the values stay as they are.
    fillWindow(s, state.values, next, wx0, wy0, ww, wh);
  } else {
    voteWindow(s, state, options, tx0, ty0, tx1, ty1, wx0, wy0, ww, wh, fw > 0, buf, mode === 'vote' && s.level === 0);
  }

  // 3. Collect the tile's hole values and count the pixels that moved.
  const h0 = s.tileHoleStart[tile];
  const h1 = s.tileHoleStart[tile + 1];
  const values = into ? into.values.subarray(h0 * 3, h1 * 3) : new Float32Array((h1 - h0) * 3);
  const limit2 = options.changeThreshold * options.changeThreshold;
  // A search-only iteration counts every pixel as changed: the level has not voted yet.
  const warm = mode === 'iterate' && state.warmup > 0;
  let changed = 0;
  for (let h = h0; h < h1; h++) {
    const p = s.holePixels[h];
    const x = p % width;
    const y = (p - x) / width;
    const wi = ((y - wy0) * ww + (x - wx0)) * 3;
    const o = (h - h0) * 3;
    values[o] = next[wi];
    values[o + 1] = next[wi + 1];
    values[o + 2] = next[wi + 2];
    const dl = values[o] - state.values[h * 3];
    const da = values[o + 1] - state.values[h * 3 + 1];
    const db = values[o + 2] - state.values[h * 3 + 2];
    if (warm || dl * dl + da * da + db * db > limit2) changed++;
  }

  if (mode === 'vote') return { level: s.level, iteration: state.iteration, tile, values, nnf: new Int32Array(0), dist: new Float32Array(0), changed };

  // Texture features over tile+r, where the tile's target patches lie: voted with the values, or,
  // in a search-only iteration (the top level's peeled values: copies, as sharp as their
  // sources), computed from the values.
  const wfeat = buf.feat;
  const { feat } = s;
  if (fw > 0 && warm) windowFeatures(next, wfeat, wx0, wy0, ww, width, height, Math.max(tx0 - r, 0), Math.max(ty0 - r, 0), Math.min(tx1 + r, width), Math.min(ty1 + r, height));
  const cie76 = ssd === ssd76;

  // 4. PatchMatch over the tile's target patches against the voted values. A candidate's cost is
  //    its patch distance plus the proximity prior: proximity x (offset length / level size) per
  //    patch pixel, so of two equally good sources the nearer wins (see options.ts).
  const t0 = s.tileTargetStart[tile];
  const t1 = s.tileTargetStart[tile + 1];
  const count = t1 - t0;
  let nnf: Int32Array;
  if (into) {
    nnf = into.nnf.subarray(t0, t1);
    nnf.set(nnf0.subarray(t0, t1));
  } else {
    nnf = nnf0.slice(t0, t1);
  }
  const dist = into ? into.dist.subarray(t0, t1) : new Float32Array(count);
  let rng = streamSeed(options.seed, s.level, state.iteration, tile) | 0;
  const forward = (state.iteration & 1) === 0;
  const step = forward ? 1 : -1;
  const maxRadius = Math.max(width, height);
  const levelRounds = searchRounds(s.level);
  // Targets of small holes search more on the full-size level (SMALL_SEARCH_ROUNDS).
  const small = s.level === 0 ? smallTargets(s, options) : null;
  const prior = options.proximity / maxRadius;
  const xMin = r;
  const xMax = width - 1 - r;
  const yMin = r;
  const yMax = height - 1 - r;
  const offs = s.offsets;
  const offCount = offs.length;
  const offConf = offsetConfidence(options.confidenceBase);
  for (let k = forward ? 0 : count - 1; k >= 0 && k < count; k += step) {
    const t = t0 + k;
    const p = s.targetPixels[t];
    const x = p % width;
    const y = (p - x) / width;
    const dy0 = Math.max(-r, -y);
    const dy1 = Math.min(r, height - 1 - y);
    const dx0 = Math.max(-r, -x);
    const dx1 = Math.min(r, width - 1 - x);
    const area = (dy1 - dy0 + 1) * (dx1 - dx0 + 1);
    const penK = prior * area;
    const wc = (y - wy0) * ww + (x - wx0);
    let best = nnf[k];
    let qx = best % width;
    let qy = (best - qx) / width;
    let bestD = penK * Math.sqrt((qx - x) * (qx - x) + (qy - y) * (qy - y)) + (fw === 0 ? ssd(next, ww, wc, lab, width, best, dy0, dy1, dx0, dx1, Infinity) : cie76 ? ssd76Feat(next, wfeat, ww, wc, lab, feat, width, best, dy0, dy1, dx0, dx1, Infinity, fw) : ssdFeat(ssd, next, wfeat, ww, wc, lab, feat, width, best, dy0, dy1, dx0, dx1, Infinity, fw));

    // Propagation: the scan-order predecessors' matches, shifted by one pixel.
    for (let side = 0; side < 2; side++) {
      const back = side === 0 ? step : step * width;
      if (side === 0 ? x - step < 0 || x - step >= width : y - step < 0 || y - step >= height) continue;
      const tn = targetIndex[p - back];
      if (tn < 0) continue;
      const q = (tn >= t0 && tn < t1 ? nnf[tn - t0] : nnf0[tn]) + back;
      if (q === best || !validSource[q]) continue;
      qx = q % width;
      qy = (q - qx) / width;
      const pen = penK * Math.sqrt((qx - x) * (qx - x) + (qy - y) * (qy - y));
      if (pen >= bestD) continue;
      const d = pen + (fw === 0 ? ssd(next, ww, wc, lab, width, q, dy0, dy1, dx0, dx1, bestD - pen) : cie76 ? ssd76Feat(next, wfeat, ww, wc, lab, feat, width, q, dy0, dy1, dx0, dx1, bestD - pen, fw) : ssdFeat(ssd, next, wfeat, ww, wc, lab, feat, width, q, dy0, dy1, dx0, dx1, bestD - pen, fw));
      if (d < bestD) {
        bestD = d;
        best = q;
      }
    }

    // Offset statistics (offsets.ts): the sources at the picture's dominant offsets from p, for
    // targets deep enough in the hole.
    const tryOffsets = s.targetConfidence[t] <= offConf ? offCount : 0;
    for (let o = 0; o < tryOffsets; o += 2) {
      const ox = offs[o];
      const oy = offs[o + 1];
      let cx = x + ox;
      let cy = y + oy;
      // The first multiple of the offset that lands on a valid source: a period repeats across
      // a hole wider than itself.
      while (cx >= xMin && cx <= xMax && cy >= yMin && cy <= yMax && !validSource[cy * width + cx]) {
        cx += ox;
        cy += oy;
      }
      if (cx < xMin || cx > xMax || cy < yMin || cy > yMax) continue;
      const q = cy * width + cx;
      if (q === best || !validSource[q]) continue;
      const pen = penK * Math.sqrt((cx - x) * (cx - x) + (cy - y) * (cy - y));
      if (pen >= bestD) continue;
      const d = pen + (fw === 0 ? ssd(next, ww, wc, lab, width, q, dy0, dy1, dx0, dx1, bestD - pen) : cie76 ? ssd76Feat(next, wfeat, ww, wc, lab, feat, width, q, dy0, dy1, dx0, dx1, bestD - pen, fw) : ssdFeat(ssd, next, wfeat, ww, wc, lab, feat, width, q, dy0, dy1, dx0, dx1, bestD - pen, fw));
      if (d < bestD) {
        bestD = d;
        best = q;
      }
    }

    // Random search in windows halving from the whole level down to one pixel (several sweeps on
    // coarse levels, where a target is cheap and the structure of the fill is decided).
    const bx = best % width;
    const by = (best - bx) / width;
    const rounds = small !== null && small[t] === 1 ? SMALL_SEARCH_ROUNDS : levelRounds;
    for (let round = 0; round < rounds; round++) {
      for (let radius = maxRadius; radius >= 1; radius >>= 1) {
        rng ^= rng << 13;
        rng ^= rng >>> 17;
        rng ^= rng << 5;
        let cx = bx + ((rng >>> 0) % (2 * radius + 1)) - radius;
        rng ^= rng << 13;
        rng ^= rng >>> 17;
        rng ^= rng << 5;
        let cy = by + ((rng >>> 0) % (2 * radius + 1)) - radius;
        cx = cx < xMin ? xMin : cx > xMax ? xMax : cx;
        cy = cy < yMin ? yMin : cy > yMax ? yMax : cy;
        const q = cy * width + cx;
        if (q === best || !validSource[q]) continue;
        const pen = penK * Math.sqrt((cx - x) * (cx - x) + (cy - y) * (cy - y));
        if (pen >= bestD) continue;
        const d = pen + (fw === 0 ? ssd(next, ww, wc, lab, width, q, dy0, dy1, dx0, dx1, bestD - pen) : cie76 ? ssd76Feat(next, wfeat, ww, wc, lab, feat, width, q, dy0, dy1, dx0, dx1, bestD - pen, fw) : ssdFeat(ssd, next, wfeat, ww, wc, lab, feat, width, q, dy0, dy1, dx0, dx1, bestD - pen, fw));
        if (d < bestD) {
          bestD = d;
          best = q;
        }
      }
    }
    nnf[k] = best;
    dist[k] = bestD / area;
  }
  return { level: s.level, iteration: state.iteration, tile, values, nnf, dist, changed };
}
