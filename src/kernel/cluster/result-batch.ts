// A result batch: the tile results of some tiles of one step in one blob, so a node stores a few
// blobs per step instead of one per tile. Layout (little-endian):
//
//   "PWRB" | version u32 | count u32 | 0 u32 | count x (tile u32, byteLength u32)
//   then each tile result (codec.ts encoding), each padded to 8 bytes
import { encodeTileResult, decodeTileResult } from '../codec.ts';
import { KernelError } from '../errors.ts';
import type { TileResult } from '../types.ts';

const MAGIC = 0x42525750; // "PWRB" read as little-endian u32
const VERSION = 1;
const pad8 = (n: number): number => (n + 7) & ~7;

export function encodeResultBatch(results: readonly TileResult[]): Uint8Array {
  const parts = results.map((r) => encodeTileResult(r));
  const head = pad8(16 + 8 * parts.length);
  let size = head;
  for (const p of parts) size += pad8(p.length);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, parts.length, true);
  let o = head;
  parts.forEach((p, i) => {
    view.setUint32(16 + 8 * i, results[i].tile, true);
    view.setUint32(20 + 8 * i, p.length, true);
    out.set(p, o);
    o += pad8(p.length);
  });
  return out;
}

/** The tile indices a batch holds, without decoding the results. */
export function resultBatchTiles(blob: Uint8Array): number[] {
  const { tiles } = readHead(blob);
  return tiles;
}

export function decodeResultBatch(blob: Uint8Array): TileResult[] {
  const { tiles, lengths, head } = readHead(blob);
  const out: TileResult[] = [];
  let o = head;
  for (let i = 0; i < tiles.length; i++) {
    if (o + lengths[i] > blob.length) throw new KernelError('BAD_DATA', 'result batch is truncated');
    const r = decodeTileResult(blob.subarray(o, o + lengths[i]));
    if (r.tile !== tiles[i]) throw new KernelError('BAD_DATA', `result batch lists tile ${tiles[i]} but holds tile ${r.tile}`);
    out.push(r);
    o += pad8(lengths[i]);
  }
  return out;
}

function readHead(blob: Uint8Array): { tiles: number[]; lengths: number[]; head: number } {
  if (!(blob instanceof Uint8Array) || blob.length < 16) throw new KernelError('BAD_DATA', 'not a result batch: too short');
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new KernelError('BAD_DATA', 'not a result batch: bad magic');
  if (view.getUint32(4, true) !== VERSION) throw new KernelError('BAD_DATA', `result batch version ${view.getUint32(4, true)} is not ${VERSION}`);
  const count = view.getUint32(8, true);
  const head = pad8(16 + 8 * count);
  if (head > blob.length) throw new KernelError('BAD_DATA', 'result batch header is truncated');
  const tiles: number[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < count; i++) {
    tiles.push(view.getUint32(16 + 8 * i, true));
    lengths.push(view.getUint32(20 + 8 * i, true));
  }
  return { tiles, lengths, head };
}
