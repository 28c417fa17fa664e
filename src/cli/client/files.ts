// Files on the client side: input images read and typed by their bytes (the gateway checks the
// magic bytes too), results written in the format the output name asks for — the gateway's bytes
// as they are when the format matches, re-encoded by the kernel's image I/O otherwise.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeImage, encodeImage, formatForPath, isKernelError, type ImageFormat } from '../../kernel/index.ts';
import { ClientError } from './errors.ts';

const CONTENT_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/** image/png, image/jpeg or image/webp from the first bytes; octet-stream (the gateway decides) otherwise. */
export function sniffContentType(bytes: Uint8Array): string {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 12 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP') return 'image/webp';
  return 'application/octet-stream';
}

export async function readInput(path: string, what: string): Promise<{ bytes: Uint8Array; contentType: string }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ClientError('INPUT_FILE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return { bytes, contentType: sniffContentType(bytes) };
}

/** The format an output name asks for; throws OUTPUT_FILE for other extensions. */
export function outputFormat(path: string): ImageFormat {
  try {
    return formatForPath(path);
  } catch (e) {
    throw new ClientError('OUTPUT_FILE', isKernelError(e) ? e.message : String(e));
  }
}

/** Writes `bytes` (of `contentType`) to `path`, converting when the extension asks for another format. */
export async function writeImage(path: string, bytes: Uint8Array, contentType: string): Promise<void> {
  const format = outputFormat(path);
  const out = CONTENT_TYPES[format] === contentType ? bytes : await encodeImage(await decodeImage(bytes, 'image'), format);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, out);
  } catch (e) {
    throw new ClientError('OUTPUT_FILE', `cannot write ${path}: ${(e as Error).message}`);
  }
}

/** File extension for a content type (previews are saved as they come). */
export function extensionOf(contentType: string): string {
  return contentType === 'image/jpeg' ? 'jpg' : contentType === 'image/webp' ? 'webp' : 'png';
}
