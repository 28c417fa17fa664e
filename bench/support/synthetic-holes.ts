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
