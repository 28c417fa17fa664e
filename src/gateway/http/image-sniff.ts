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
