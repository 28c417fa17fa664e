// A PNG with a tEXt chunk added after its header: the same pixels in other bytes, so a blob with
// another content-addressed id (and a job with another job key) that decodes to the same image.
// Benchmarks use it to give each run of one seed a job no node has seen.
import { crc32 } from 'node:zlib';

const SIGNATURE = 8;
/** Signature + IHDR chunk (4 length + 4 type + 13 data + 4 CRC). */
const AFTER_IHDR = SIGNATURE + 25;

export function withPngText(png: Uint8Array, keyword: string, text: string): Buffer {
  const src = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (src.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG with IHDR first');
  const body = Buffer.concat([Buffer.from('tEXt', 'latin1'), Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]);
  const chunk = Buffer.alloc(4 + body.length + 4);
  chunk.writeUInt32BE(body.length - 4, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body) >>> 0, 4 + body.length);
  return Buffer.concat([src.subarray(0, AFTER_IHDR), chunk, src.subarray(AFTER_IHDR)]);
}
