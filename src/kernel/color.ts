// sRGB (D65) <-> CIE Lab, and CIEDE2000. Lab is the working space because Euclidean distance in
// it (CIE76) follows perceived colour difference far better than RGB does, at the same cost.

const EPS = (6 / 29) ** 3;
const KAPPA = 3 * (6 / 29) ** 2;
const XN = 0.95047;
const YN = 1.0;
const ZN = 1.08883;

/** sRGB 8-bit -> linear light, computed once. */
const SRGB_TO_LINEAR = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  SRGB_TO_LINEAR[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function labF(t: number): number {
  return t > EPS ? Math.cbrt(t) : t / KAPPA + 4 / 29;
}

function labFInv(t: number): number {
  return t > 6 / 29 ? t * t * t : KAPPA * (t - 4 / 29);
}

function linearToSrgb8(c: number): number {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
  const n = Math.round(v * 255);
  return n < 0 ? 0 : n > 255 ? 255 : n;
}

/** Writes the Lab of one sRGB pixel to out[o..o+2]. */
export function rgbToLab(r: number, g: number, b: number, out: Float32Array, o: number): void {
  const lr = SRGB_TO_LINEAR[r];
  const lg = SRGB_TO_LINEAR[g];
  const lb = SRGB_TO_LINEAR[b];
  const fx = labF((0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / XN);
  const fy = labF((0.2126729 * lr + 0.7151522 * lg + 0.072175 * lb) / YN);
  const fz = labF((0.0193339 * lr + 0.119192 * lg + 0.9503041 * lb) / ZN);
  out[o] = 116 * fy - 16;
  out[o + 1] = 500 * (fx - fy);
  out[o + 2] = 200 * (fy - fz);
}

/**
 * Lab of the known pixels `from`..`to` - 1 of an RGBA raster into `lab` (3 floats a pixel, indexed
 * from `labOffset` pixels before `from`); hole pixels are left as they are (0 in a fresh array).
 * `rgba` and `hole` may be a range's own copies, starting at pixel `base`.
 */
export function knownLab(rgba: Uint8Array, hole: Uint8Array, base: number, from: number, to: number, lab: Float32Array): void {
  for (let i = from; i < to; i++) {
    const j = i - base;
    if (!hole[j]) rgbToLab(rgba[j * 4], rgba[j * 4 + 1], rgba[j * 4 + 2], lab, i * 3);
  }
}

/** Writes the sRGB 8-bit of one Lab value to out[o..o+2] (alpha untouched). */
export function labToRgb(l: number, a: number, bb: number, out: Uint8Array, o: number): void {
  const fy = (l + 16) / 116;
  const x = XN * labFInv(fy + a / 500);
  const y = YN * labFInv(fy);
  const z = ZN * labFInv(fy - bb / 200);
  out[o] = linearToSrgb8(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
  out[o + 1] = linearToSrgb8(-0.969266 * x + 1.8760108 * y + 0.041556 * z);
  out[o + 2] = linearToSrgb8(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
}

const DEG = Math.PI / 180;
const POW25_7 = 25 ** 7;

/** CIEDE2000 colour difference (kL = kC = kH = 1), after Sharma, Wu and Dalal (2005). */
export function ciede2000(l1: number, a1: number, b1: number, l2: number, a2: number, b2: number): number {
  const c1 = Math.sqrt(a1 * a1 + b1 * b1);
  const c2 = Math.sqrt(a2 * a2 + b2 * b2);
  const cBar = (c1 + c2) / 2;
  const cBar7 = cBar ** 7;
  const g = 0.5 * (1 - Math.sqrt(cBar7 / (cBar7 + POW25_7)));
  const a1p = (1 + g) * a1;
  const a2p = (1 + g) * a2;
  const c1p = Math.sqrt(a1p * a1p + b1 * b1);
  const c2p = Math.sqrt(a2p * a2p + b2 * b2);
  let h1p = c1p === 0 ? 0 : Math.atan2(b1, a1p) / DEG;
  if (h1p < 0) h1p += 360;
  let h2p = c2p === 0 ? 0 : Math.atan2(b2, a2p) / DEG;
  if (h2p < 0) h2p += 360;
  const dLp = l2 - l1;
  const dCp = c2p - c1p;
  let dhp = 0;
  if (c1p * c2p !== 0) {
    dhp = h2p - h1p;
    if (dhp > 180) dhp -= 360;
    else if (dhp < -180) dhp += 360;
  }
  const dHp = 2 * Math.sqrt(c1p * c2p) * Math.sin((dhp / 2) * DEG);
  const lBarP = (l1 + l2) / 2;
  const cBarP = (c1p + c2p) / 2;
  let hBarP = h1p + h2p;
  if (c1p * c2p !== 0) {
    if (Math.abs(h1p - h2p) > 180) hBarP = hBarP < 360 ? (hBarP + 360) / 2 : (hBarP - 360) / 2;
    else hBarP /= 2;
  }
  const t =
    1 -
    0.17 * Math.cos((hBarP - 30) * DEG) +
    0.24 * Math.cos(2 * hBarP * DEG) +
    0.32 * Math.cos((3 * hBarP + 6) * DEG) -
    0.2 * Math.cos((4 * hBarP - 63) * DEG);
  const dTheta = 30 * Math.exp(-(((hBarP - 275) / 25) ** 2));
  const cBarP7 = cBarP ** 7;
  const rc = 2 * Math.sqrt(cBarP7 / (cBarP7 + POW25_7));
  const lm = (lBarP - 50) ** 2;
  const sl = 1 + (0.015 * lm) / Math.sqrt(20 + lm);
  const sc = 1 + 0.045 * cBarP;
  const sh = 1 + 0.015 * cBarP * t;
  const rt = -Math.sin(2 * dTheta * DEG) * rc;
  const x = dLp / sl;
  const y = dCp / sc;
  const z = dHp / sh;
  return Math.sqrt(x * x + y * y + z * z + rt * y * z);
}
