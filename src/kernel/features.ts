// Texture features (Newson et al. 2014, "Video inpainting of complex scenes", and Le Meur and
// Newson's image version): next to its Lab colour, every pixel carries the local mean of the
// absolute luminance gradients |∂L/∂x| and |∂L/∂y| over a small box. Added, weighted, to the patch
// distance, they keep a smooth source from being matched into a textured area (and vice versa):
// plain SSD prefers a flat patch of the right mean colour to a textured one slightly out of step,
// which averages into smooth blocks and blurred fills.
//
// Features are stored quantised to bytes (FEATURE_QUANT steps per ΔL unit): 2 bytes a pixel
// instead of 8 (memory: the 2048×1536 case runs close to its budget). In the hole they are voted
// with the colours (tile-step.ts); only the top level's search-only iterations compute them from
// the window's values (windowFeatures), quantised alike.
//
// Definition (static and window alike): gx(x, y) = |L(x+1, y) - L(x, y)| when both pixels are in
// the image (and, for the static image, both known), gy likewise downwards; a pixel's feature is the
// mean of gx (gy) over the valid pairs in the (2b+1)² box around it, b = FEATURE_BOX.

/** Box radius of the gradient mean. */
export const FEATURE_BOX = 1;
/** How far (in pixels) a feature reads beyond its own pixel: the box plus the forward difference. */
export const FEATURE_REACH = FEATURE_BOX + 1;
/** Quantisation: stored feature = round(mean |ΔL| × FEATURE_QUANT), clamped to 255. */
export const FEATURE_QUANT = 4;
/**
 * Weight of the features in the patch distance, per ΔL² of gradient mean, on the levels that use
 * them (see docs/architecture.md, Kernel, "Defaults and why": 2 against 4 and 8, and 1 with more averaging).
 */
export const FEATURE_WEIGHT = 2;
/**
 * Levels from this one up use the features; below, the distance is colour only. On the coarse
 * levels the features decide which texture goes where (the structure of the fill); at full size
 * they cost PSNR (a sharper but less exact fill) and the level's time for little more sharpness.
 */
export const FEATURE_FROM_LEVEL = 1;

/** The feature weight of a level's patch distance, per squared quantisation step (0: colour only). */
export function featureWeight(level: number): number {
  return level >= FEATURE_FROM_LEVEL ? FEATURE_WEIGHT / (FEATURE_QUANT * FEATURE_QUANT) : 0;
}

function quantise(v: number): number {
  const q = Math.round(v * FEATURE_QUANT);
  return q > 255 ? 255 : q;
}

/**
 * Features of a whole level from its Lab (3 floats a pixel) and hole: pairs touching a hole pixel
 * are left out. `out` holds 2 bytes a pixel (x, y); hole pixels get features of their known
 * neighbours only (they are never read as sources: a source patch lies off the hole).
 */
export function staticFeatures(lab: Float32Array, hole: Uint8Array, width: number, height: number, out: Uint8Array): void {
  const b = FEATURE_BOX;
  const span = 2 * b + 1;
  // A ring of horizontal box sums, one row per slot (4 per pixel: sum gx, pairs x, sum gy, pairs
  // y), so memory is O(width), not O(image): at 2048×1536 whole-image sums would cost ~100 MB.
  const ring = new Float32Array(span * width * 4);
  const line = new Float32Array(width * 4);
  const rowSums = (y: number): void => {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const p = row + x;
      let gx = 0;
      let vx = 0;
      let gy = 0;
      let vy = 0;
      if (!hole[p]) {
        if (x + 1 < width && !hole[p + 1]) {
          gx = Math.abs(lab[(p + 1) * 3] - lab[p * 3]);
          vx = 1;
        }
        if (y + 1 < height && !hole[p + width]) {
          gy = Math.abs(lab[(p + width) * 3] - lab[p * 3]);
          vy = 1;
        }
      }
      line[4 * x] = gx;
      line[4 * x + 1] = vx;
      line[4 * x + 2] = gy;
      line[4 * x + 3] = vy;
    }
    const slot = (y % span) * width * 4;
    for (let x = 0; x < width; x++) {
      const x0 = x - b < 0 ? 0 : x - b;
      const x1 = x + b >= width ? width - 1 : x + b;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let xx = x0; xx <= x1; xx++) {
        s0 += line[4 * xx];
        s1 += line[4 * xx + 1];
        s2 += line[4 * xx + 2];
        s3 += line[4 * xx + 3];
      }
      const o = slot + 4 * x;
      ring[o] = s0;
      ring[o + 1] = s1;
      ring[o + 2] = s2;
      ring[o + 3] = s3;
    }
  };
  for (let y = 0; y < Math.min(b, height); y++) rowSums(y);
  for (let y = 0; y < height; y++) {
    if (y + b < height) rowSums(y + b);
    const y0 = y - b < 0 ? 0 : y - b;
    const y1 = y + b >= height ? height - 1 : y + b;
    for (let x = 0; x < width; x++) {
      let sx = 0;
      let cx = 0;
      let sy = 0;
      let cy = 0;
      for (let yy = y0; yy <= y1; yy++) {
        const o = (yy % span) * width * 4 + 4 * x;
        sx += ring[o];
        cx += ring[o + 1];
        sy += ring[o + 2];
        cy += ring[o + 3];
      }
      const p = y * width + x;
      out[2 * p] = cx > 0 ? quantise(sx / cx) : 0;
      out[2 * p + 1] = cy > 0 ? quantise(sy / cy) : 0;
    }
  }
}

/**
 * Features of a window's current image (3 floats a pixel: known pixels and voted hole values) for
 * the pixels of the rect ax0..ax1 × ay0..ay1 (level coordinates, end-exclusive), into `feat` (2
 * floats a window pixel, quantised values). The window (origin wx0, wy0, size ww × wh) must hold
 * valid values over the rect grown by FEATURE_REACH, clipped to the image (width × height).
 */
export function windowFeatures(
  win: Float32Array,
  feat: Float32Array,
  wx0: number,
  wy0: number,
  ww: number,
  width: number,
  height: number,
  ax0: number,
  ay0: number,
  ax1: number,
  ay1: number,
): void {
  const b = FEATURE_BOX;
  for (let y = ay0; y < ay1; y++) {
    const by0 = y - b < 0 ? 0 : y - b;
    const by1 = y + b >= height ? height - 1 : y + b;
    for (let x = ax0; x < ax1; x++) {
      const bx0 = x - b < 0 ? 0 : x - b;
      const bx1 = x + b >= width ? width - 1 : x + b;
      let sx = 0;
      let nx = 0;
      let sy = 0;
      let ny = 0;
      for (let yy = by0; yy <= by1; yy++) {
        let wi = ((yy - wy0) * ww + (bx0 - wx0)) * 3;
        const down = yy + 1 < height;
        for (let xx = bx0; xx <= bx1; xx++, wi += 3) {
          const l = win[wi];
          if (xx + 1 < width) {
            sx += Math.abs(win[wi + 3] - l);
            nx++;
          }
          if (down) {
            sy += Math.abs(win[wi + ww * 3] - l);
            ny++;
          }
        }
      }
      const fi = ((y - wy0) * ww + (x - wx0)) * 2;
      feat[fi] = nx > 0 ? quantise(sx / nx) : 0;
      feat[fi + 1] = ny > 0 ? quantise(sy / ny) : 0;
    }
  }
}
