// Ground-truth holes: the case's own mask shape (scaled down until it fits, and mirrored for the
// second placement) moved to where the image shows background we know, away from the real
// hole. The fill then removes the real object and the synthetic hole; only the synthetic one is
// scored, against the original pixels.

export interface Placement {
  /** 1 on the synthetic hole (scored). */
  synthetic: Uint8Array;
  label: string;
}

function bbox(mask: Uint8Array, w: number, h: number): [number, number, number, number] {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return [x0, y0, x1, y1];
}

/** The mask's shape cut to its bbox, scaled by s (nearest), optionally mirrored. */
function shape(mask: Uint8Array, w: number, h: number, s: number, mirror: boolean): { sw: number; sh: number; bits: Uint8Array } {
  const [x0, y0, x1, y1] = bbox(mask, w, h);
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const sw = Math.max(1, Math.round(bw * s));
  const sh = Math.max(1, Math.round(bh * s));
  const bits = new Uint8Array(sw * sh);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const sx = Math.min(bw - 1, Math.floor((mirror ? sw - 1 - x : x) / s));
      const sy = Math.min(bh - 1, Math.floor(y / s));
      bits[y * sw + x] = mask[(y0 + sy) * w + x0 + sx];
    }
  }
  return { sw, sh, bits };
}

function grow(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) out.fill(1, yy * w + Math.max(0, x - r), yy * w + Math.min(w, x + r + 1));
    }
  }
  return out;
}

/** Up to two placements that stay `margin` px clear of the real hole and of each other. */
export function placeHoles(hole: Uint8Array, w: number, h: number, margin = 8): Placement[] {
  let blocked = grow(hole, w, h, margin);
  const out: Placement[] = [];
  const [, by0, , by1] = bbox(hole, w, h);
  for (const mirror of [false, true]) {
    let placed = false;
    for (let s = 1; s >= 0.3 && !placed; s *= 0.85) {
      const { sw, sh, bits } = shape(hole, w, h, s, mirror);
      // Keep the real hole's vertical centre (the background there matches), scan x.
      const top = Math.min(Math.max(Math.round((by0 + by1) / 2 - sh / 2), 0), h - sh);
      for (let left = 0; left + sw <= w && !placed; left += 4) {
        let clash = false;
        for (let y = 0; y < sh && !clash; y++) for (let x = 0; x < sw; x++) if (bits[y * sw + x] && blocked[(top + y) * w + left + x]) { clash = true; break; }
        if (clash) continue;
        const synthetic = new Uint8Array(w * h);
        for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) if (bits[y * sw + x]) synthetic[(top + y) * w + left + x] = 1;
        out.push({ synthetic, label: `${mirror ? 'mirrored' : 'shifted'} x${s.toFixed(2)} at ${left},${top}` });
        blocked = grow(synthetic, w, h, margin).map((v, i) => v | blocked[i]);
        placed = true;
      }
    }
  }
  return out;
}

/** Hole shapes of everyday retouching, besides whole persons: spots, brush strokes, wires. */
export type SmallKind = 'blobs' | 'strokes' | 'lines';
export const SMALL_KINDS: readonly SmallKind[] = ['blobs', 'strokes', 'lines'];

/** A tiny seeded generator (xorshift32), so placements are the same on every run. */
function rngOf(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function disc(out: Uint8Array, w: number, h: number, cx: number, cy: number, r: number): void {
  const ri = Math.ceil(r);
  for (let y = Math.max(0, Math.floor(cy) - ri); y <= Math.min(h - 1, Math.ceil(cy) + ri); y++) {
    for (let x = Math.max(0, Math.floor(cx) - ri); x <= Math.min(w - 1, Math.ceil(cx) + ri); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) out[y * w + x] = 1;
    }
  }
}

/** One shape of the kind, drawn at a random spot (it may be refused if it clashes). */
function drawShape(kind: SmallKind, w: number, h: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(w * h);
  const cx = 20 + rand() * (w - 40);
  const cy = 20 + rand() * (h - 40);
  if (kind === 'blobs') {
    // A spot: a few overlapping discs, 5-14 px in radius.
    const r = 5 + rand() * 9;
    for (let k = 0; k < 4; k++) disc(out, w, h, cx + (rand() - 0.5) * r, cy + (rand() - 0.5) * r, r * (0.6 + 0.4 * rand()));
  } else {
    // A stroke (6-12 px wide, 40-110 long) or a wire (2-3 px wide, 60-200 long): a gently
    // bending path of discs.
    const wire = kind === 'lines';
    const radius = wire ? 1 + rand() * 0.6 : 3 + rand() * 3;
    const length = wire ? 60 + rand() * 140 : 40 + rand() * 70;
    let angle = rand() * Math.PI * 2;
    const bend = (rand() - 0.5) * (wire ? 0.006 : 0.03);
    let x = cx;
    let y = cy;
    for (let s = 0; s < length; s += 0.5) {
      disc(out, w, h, x, y, radius);
      angle += bend;
      x += 0.5 * Math.cos(angle);
      y += 0.5 * Math.sin(angle);
      if (x < 2 || y < 2 || x > w - 3 || y > h - 3) break;
    }
  }
  return out;
}

/**
 * A set of small holes of one kind (5 spots, 3 strokes or 4 wires) at seeded random spots, each
 * `margin` px clear of the real hole and of each other, anywhere else in the picture (texture,
 * edges, flat areas alike: where a retoucher would click).
 */
export function placeSmallHoles(hole: Uint8Array, w: number, h: number, kind: SmallKind, seed: number, margin = 8): Placement {
  const want = kind === 'blobs' ? 5 : kind === 'strokes' ? 3 : 4;
  const rand = rngOf(seed * 7919 + SMALL_KINDS.indexOf(kind) + 1);
  let blocked = grow(hole, w, h, margin);
  const synthetic = new Uint8Array(w * h);
  let placed = 0;
  for (let attempt = 0; attempt < 400 && placed < want; attempt++) {
    const shape = drawShape(kind, w, h, rand);
    let clash = false;
    for (let p = 0; p < shape.length; p++) {
      if (shape[p] && blocked[p]) {
        clash = true;
        break;
      }
    }
    if (clash) continue;
    for (let p = 0; p < shape.length; p++) synthetic[p] |= shape[p];
    blocked = grow(shape, w, h, margin).map((v, i) => v | blocked[i]);
    placed++;
  }
  return { synthetic, label: `${placed} ${kind}` };
}
