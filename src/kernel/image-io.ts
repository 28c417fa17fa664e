// Image files in and out, through sharp. The only kernel file that touches sharp: the math sees
// RGBA8 rasters only.
import sharp from 'sharp';
import { KernelError } from './errors.ts';
import type { RgbaImage } from './types.ts';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

// libvips' operation cache would keep decoded rasters alive after we copied them out; the kernel
// decodes each file once, so the cache only adds to peak memory.
sharp.cache(false);

/** Largest image accepted, in pixels (about 100 megapixels): bigger inputs are refused, not swapped. */
export const MAX_PIXELS = 100_000_000;

/** Decodes any image sharp reads (PNG, JPEG, WebP, ...) to RGBA8. `what` names it in errors. */
export async function decodeImage(input: Uint8Array | string, what = 'image'): Promise<RgbaImage> {
  try {
    const { data, info } = await sharp(input, { limitInputPixels: MAX_PIXELS }).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    const code = what === 'image' ? 'BAD_IMAGE' : 'BAD_MASK';
    const name = typeof input === 'string' ? `${what} ${input}` : what;
    const reason = e instanceof Error ? e.message : String(e);
    throw new KernelError(code, `${name} is not a readable image (${reason.split('\n')[0]}); give a PNG, JPEG or WebP file`);
  }
}

/** The format a file name asks for, by extension. */
export function formatForPath(path: string): ImageFormat {
  const ext = path.toLowerCase().split('.').pop() ?? '';
  if (ext === 'png') return 'png';
  if (ext === 'jpg' || ext === 'jpeg') return 'jpeg';
  if (ext === 'webp') return 'webp';
  throw new KernelError('BAD_OPTION', `cannot write "${path}": name the output .png, .jpg or .webp`);
}

/** Encodes RGBA8 to PNG (lossless), JPEG (quality 92) or WebP (lossless). */
export async function encodeImage(image: RgbaImage, format: ImageFormat): Promise<Buffer> {
  const s = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } });
  if (format === 'png') return s.png().toBuffer();
  if (format === 'jpeg') return s.jpeg({ quality: 92 }).toBuffer();
  return s.webp({ lossless: true }).toBuffer();
}
