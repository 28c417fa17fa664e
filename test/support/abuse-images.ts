// Hostile and unusual image files for the abuse suite, made in code: headers that lie about
// their size, animations, CMYK, 16-bit and grayscale encodings of an ordinary picture.
import { crc32, createDeflate } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import type { RgbaImage } from '../../src/kernel/index.ts';

function raw(img: RgbaImage): Sharp {
  return sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 4 } });
}

/** A real PNG whose IHDR claims width × height, with a valid chunk CRC (so only the size lies). */
export function pngClaiming(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  // Signature (8), IHDR length (4), 'IHDR' (4), then width and height; the CRC covers type + 13 data bytes.
  if (out.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG with IHDR first');
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

/** A real baseline JPEG whose SOF0 segment claims width × height (at most 65535 each). */
export function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length; ) {
    if (out[i] !== 0xff) throw new Error(`no marker at ${i}`);
    const marker = out[i + 1];
    if (marker === 0xc0) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + out.readUInt16BE(i + 2);
  }
  throw new Error('no SOF0 segment');
}

/** The same picture as a 3-frame animation (GIF or WebP): each frame a shifted copy. */
export async function animated(img: RgbaImage, format: 'gif' | 'webp', frames = 3): Promise<Buffer> {
  const data = Buffer.alloc(img.data.length * frames);
  for (let f = 0; f < frames; f++) data.set(img.data.map((v, i) => (i % 4 === 3 ? v : (v + 40 * f) & 255)), f * img.data.length);
  const s = sharp(data, { raw: { width: img.width, height: img.height * frames, channels: 4, pageHeight: img.height } });
  return format === 'gif' ? s.gif({ loop: 0, delay: [100, 100, 100].slice(0, frames) }).toBuffer() : s.webp({ loop: 0, lossless: true }).toBuffer();
}

export async function cmykJpeg(img: RgbaImage): Promise<Buffer> {
  return raw(img).removeAlpha().toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
}

export async function png16(img: RgbaImage): Promise<Buffer> {
  return raw(img).removeAlpha().toColourspace('rgb16').png().toBuffer();
}

export async function grayscalePng(img: RgbaImage, depth: 8 | 16 = 8): Promise<Buffer> {
  return raw(img).removeAlpha().toColourspace(depth === 8 ? 'b-w' : 'grey16').png().toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/**
 * A valid PNG carrying a zTXt comment that inflates to `inflatedMB` megabytes of zeros (about
 * 1 kB per MB compressed): a decompression bomb in the metadata, not in the pixels.
 */
export async function pngWithTextBomb(png: Buffer, inflatedMB: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const mb = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < inflatedMB; i++) if (!deflate.write(mb)) await new Promise((r) => deflate.once('drain', r));
  deflate.end();
  await done;
  const text = pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), ...parts]));
  // After the signature (8) and IHDR (25).
  return Buffer.concat([png.subarray(0, 33), text, png.subarray(33)]);
}
