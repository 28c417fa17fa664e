// What an image really is, from its first bytes, not from what the client claims.
export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp';

/** Bytes needed to decide. */
export const SNIFF_BYTES = 12;

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The image type of these leading bytes, or null when they are no PNG, JPEG or WebP. */
export function sniffImageType(head: Uint8Array): ImageType | null {
  if (head.length >= 8 && PNG.every((b, i) => head[i] === b)) return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (
    head.length >= 12 &&
    head[0] === 0x52 && head[1] === 0x49 && head[2] === 0x46 && head[3] === 0x46 && // RIFF
    head[8] === 0x57 && head[9] === 0x45 && head[10] === 0x42 && head[11] === 0x50 // WEBP
  ) {
    return 'image/webp';
  }
  return null;
}

/** sharp's format name for each type (its metadata must agree with the magic bytes). */
export const SHARP_FORMAT: Record<ImageType, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/webp': 'webp' };

/** Image formats that are recognised but not accepted, by their leading bytes (to say so clearly). */
const OTHER_FORMATS: Array<[name: string, test: (h: Uint8Array) => boolean]> = [
  ['GIF', (h) => h[0] === 0x47 && h[1] === 0x49 && h[2] === 0x46 && h[3] === 0x38], // GIF8
  ['BMP', (h) => h[0] === 0x42 && h[1] === 0x4d], // BM
  ['TIFF', (h) => (h[0] === 0x49 && h[1] === 0x49 && h[2] === 0x2a && h[3] === 0) || (h[0] === 0x4d && h[1] === 0x4d && h[2] === 0 && h[3] === 0x2a)],
  ['HEIF/AVIF', (h) => h[4] === 0x66 && h[5] === 0x74 && h[6] === 0x79 && h[7] === 0x70], // ....ftyp
];

/** The name of an image format we recognise but do not accept (GIF, BMP, TIFF, HEIF/AVIF), or null. */
export function otherImageFormat(head: Uint8Array): string | null {
  if (head.length < 8) return null;
  return OTHER_FORMATS.find(([, test]) => test(head))?.[0] ?? null;
}
