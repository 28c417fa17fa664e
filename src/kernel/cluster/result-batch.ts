// A result batch: the tile results of some tiles of one step in one blob, so a node stores a few
// blobs per step instead of one per tile. Layout (little-endian):
//
//   "PWRB" | version u32 | count u32 | 0 u32 | count x (tile u32, byteLength u32)
//   then each tile's entry, each padded to 8 bytes.
//
// Version 2 (written now) entry: level, iteration, tile, changed, value count, target count,
// nnf byte length, 0 (u32 each) | values f32 x value count | dist f32 x target count | nnf.
// The nnf is stored compactly and losslessly: PatchMatch fields are coherent (a target's match
// is mostly its scan-order predecessor's match + 1), so each entry is the zigzag varint of
// nnf[k] - nnf[k-1] - 1 (nnf[-1] = -1): about 1.2 bytes per target instead of 4, which is ~15% of
// the bytes every step stores and pushes. Values and distances are floats the next step reads
// exactly; they stay raw. Version 1 entries (codec.ts tile results) are still read.
import { decodeTileResult } from '../codec.ts';
import { KernelError } from '../errors.ts';
import type { TileResult } from '../types.ts';

const MAGIC = 0x42525750; // "PWRB" read as little-endian u32
const VERSION = 2;
const ENTRY_HEAD = 32;
const pad8 = (n: number): number => (n + 7) & ~7;
const bad = (why: string): KernelError => new KernelError('BAD_DATA', `result batch: ${why}`);

/** Bytes of the varint nnf of `nnf`. */
function nnfBytes(nnf: Int32Array): number {
  let n = 0;
  let prev = -1;
  for (let k = 0; k < nnf.length; k++) {
    const d = (nnf[k] - prev - 1) | 0;
    let z = ((d << 1) ^ (d >> 31)) >>> 0;
    prev = nnf[k];
    n++;
    while (z >= 0x80) {
      z >>>= 7;
      n++;
    }
  }
  return n;
}

function writeNnf(nnf: Int32Array, out: Uint8Array, at: number): void {
  let o = at;
  let prev = -1;
  for (let k = 0; k < nnf.length; k++) {
    const d = (nnf[k] - prev - 1) | 0;
    let z = ((d << 1) ^ (d >> 31)) >>> 0;
    prev = nnf[k];
    while (z >= 0x80) {
      out[o++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    out[o++] = z;
  }
}

function readNnf(blob: Uint8Array, at: number, bytes: number, count: number): Int32Array {
  const nnf = new Int32Array(count);
  const end = at + bytes;
  let o = at;
  let prev = -1;
  for (let k = 0; k < count; k++) {
    let z = 0;
    let shift = 0;
    for (;;) {
      if (o >= end || shift > 28) throw bad('the nnf is truncated or malformed');
      const b = blob[o++];
      z |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    const d = (z >>> 1) ^ -(z & 1);
    prev = (prev + 1 + d) | 0;
    nnf[k] = prev;
  }
  if (o !== end) throw bad('the nnf has bytes left over');
  return nnf;
}

const u32 = (x: number, what: string): number => {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw bad(`${what} ${x} is not a u32`);
  return x;
};

export function encodeResultBatch(results: readonly TileResult[]): Uint8Array {
  const nnfSizes = results.map((r) => nnfBytes(r.nnf));
  const lengths = results.map((r, i) => ENTRY_HEAD + r.values.byteLength + r.dist.byteLength + nnfSizes[i]);
  const head = pad8(16 + 8 * results.length);
  let size = head;
  for (const l of lengths) size += pad8(l);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, results.length, true);
  let o = head;
  results.forEach((r, i) => {
    if (r.dist.length !== r.nnf.length) throw bad(`tile ${r.tile} has ${r.nnf.length} matches and ${r.dist.length} distances`);
    view.setUint32(16 + 8 * i, u32(r.tile, 'tile'), true);
    view.setUint32(20 + 8 * i, lengths[i], true);
    view.setUint32(o, u32(r.level, 'level'), true);
    view.setUint32(o + 4, u32(r.iteration, 'iteration'), true);
    view.setUint32(o + 8, r.tile, true);
    view.setUint32(o + 12, u32(r.changed, 'changed'), true);
    view.setUint32(o + 16, r.values.length, true);
    view.setUint32(o + 20, r.nnf.length, true);
    view.setUint32(o + 24, nnfSizes[i], true);
    let p = o + ENTRY_HEAD;
    out.set(new Uint8Array(r.values.buffer, r.values.byteOffset, r.values.byteLength), p);
    p += r.values.byteLength;
    out.set(new Uint8Array(r.dist.buffer, r.dist.byteOffset, r.dist.byteLength), p);
    p += r.dist.byteLength;
    writeNnf(r.nnf, out, p);
    o += pad8(lengths[i]);
  });
  return out;
}

/** The tile indices a batch holds, without decoding the results. */
export function resultBatchTiles(blob: Uint8Array): number[] {
  const { tiles } = readHead(blob);
  return tiles;
}

/** `count` floats at `at` of `blob`: a view when aligned (the blob is never written), else a copy. */
function floats(blob: Uint8Array, at: number, count: number): Float32Array {
  const offset = blob.byteOffset + at;
  if (offset % 4 === 0) return new Float32Array(blob.buffer, offset, count);
  return new Float32Array(blob.slice(at, at + count * 4).buffer);
}

function decodeEntry(blob: Uint8Array, at: number, length: number): TileResult {
  if (length < ENTRY_HEAD) throw bad('an entry is too short');
  const view = new DataView(blob.buffer, blob.byteOffset + at, length);
  const valueCount = view.getUint32(16, true);
  const targets = view.getUint32(20, true);
  const nnfLength = view.getUint32(24, true);
  if (ENTRY_HEAD + 4 * valueCount + 4 * targets + nnfLength !== length) throw bad('an entry\'s sizes do not add up to its length');
  const values = floats(blob, at + ENTRY_HEAD, valueCount);
  const dist = floats(blob, at + ENTRY_HEAD + 4 * valueCount, targets);
  const nnf = readNnf(blob, at + ENTRY_HEAD + 4 * valueCount + 4 * targets, nnfLength, targets);
  return { level: view.getUint32(0, true), iteration: view.getUint32(4, true), tile: view.getUint32(8, true), changed: view.getUint32(12, true), values, nnf, dist };
}

export function decodeResultBatch(blob: Uint8Array): TileResult[] {
  const { tiles, lengths, head, version } = readHead(blob);
  const out: TileResult[] = [];
  let o = head;
  for (let i = 0; i < tiles.length; i++) {
    if (o + lengths[i] > blob.length) throw bad('it is truncated');
    const r = version === 1 ? decodeTileResult(blob.subarray(o, o + lengths[i])) : decodeEntry(blob, o, lengths[i]);
    if (r.tile !== tiles[i]) throw bad(`it lists tile ${tiles[i]} but holds tile ${r.tile}`);
    out.push(r);
    o += pad8(lengths[i]);
  }
  return out;
}

function readHead(blob: Uint8Array): { tiles: number[]; lengths: number[]; head: number; version: number } {
  if (!(blob instanceof Uint8Array) || blob.length < 16) throw new KernelError('BAD_DATA', 'not a result batch: too short');
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new KernelError('BAD_DATA', 'not a result batch: bad magic');
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== VERSION) throw new KernelError('BAD_DATA', `result batch version ${version} is not 1 or ${VERSION}`);
  const count = view.getUint32(8, true);
  const head = pad8(16 + 8 * count);
  if (head > blob.length) throw new KernelError('BAD_DATA', 'result batch header is truncated');
  const tiles: number[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < count; i++) {
    tiles.push(view.getUint32(16 + 8 * i, true));
    lengths.push(view.getUint32(20 + 8 * i, true));
  }
  return { tiles, lengths, head, version };
}
