// One-blob encoding of the plan, a level's static data, a level state and a tile result, so
// kernel nodes can store them content-addressed. Layout (little-endian):
//
//   "PWK1" | kind u8 | version u8 | 0 u16 | scalars u32 | arrays u32
//   scalars x float64
//   arrays x (dtype u8, 0 u8 x3, length u32)
//   zero padding to 8 bytes, then each array's raw bytes, each padded to 8 bytes
//
// Fields are in a fixed order per kind (below); floats are stored as they are, so a round trip
// is exact.
import { endianness } from 'node:os';
import { KernelError } from './errors.ts';
import type { DistanceKind, LevelPlan, LevelState, LevelStatic, Plan, PlanOptions, TileResult } from './types.ts';

if (endianness() !== 'LE') throw new Error('the kernel codec assumes a little-endian host');

const MAGIC = 0x314b5750; // "PWK1" read as little-endian u32
const VERSION = 5;

export const BlobKind = { plan: 1, levelStatic: 2, levelState: 3, tileResult: 4 } as const;
export type BlobKind = keyof typeof BlobKind;

type AnyArray = Uint8Array | Int32Array | Float32Array;
const DTYPES = [Uint8Array, Int32Array, Float32Array] as const;

function dtypeOf(a: AnyArray): number {
  if (a instanceof Uint8Array) return 1;
  if (a instanceof Int32Array) return 2;
  return 3;
}

const pad8 = (n: number): number => (n + 7) & ~7;

function encodeRaw(kind: number, scalars: readonly number[], arrays: readonly AnyArray[]): Uint8Array {
  const head = 16 + scalars.length * 8 + arrays.length * 8;
  let size = pad8(head);
  for (const a of arrays) size += pad8(a.byteLength);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint8(4, kind);
  view.setUint8(5, VERSION);
  view.setUint32(8, scalars.length, true);
  view.setUint32(12, arrays.length, true);
  let o = 16;
  for (const s of scalars) {
    view.setFloat64(o, s, true);
    o += 8;
  }
  for (const a of arrays) {
    view.setUint8(o, dtypeOf(a));
    view.setUint32(o + 4, a.length, true);
    o += 8;
  }
  o = pad8(o);
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o);
    o += pad8(a.byteLength);
  }
  return out;
}

function decodeRaw(blob: Uint8Array, kind: number): { scalars: number[]; arrays: AnyArray[] } {
  const fail = (why: string): never => {
    throw new KernelError('BAD_DATA', `not a kernel blob of kind ${kind}: ${why}`);
  };
  if (!(blob instanceof Uint8Array) || blob.length < 16) fail('too short');
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('bad magic');
  if (view.getUint8(4) !== kind) fail(`it is of kind ${view.getUint8(4)}`);
  if (view.getUint8(5) !== VERSION) fail(`version ${view.getUint8(5)}`);
  const ns = view.getUint32(8, true);
  const na = view.getUint32(12, true);
  const head = 16 + ns * 8 + na * 8;
  if (head > blob.length) fail('truncated header');
  const scalars: number[] = [];
  let o = 16;
  for (let i = 0; i < ns; i++, o += 8) scalars.push(view.getFloat64(o, true));
  const metas: [number, number][] = [];
  for (let i = 0; i < na; i++, o += 8) metas.push([view.getUint8(o), view.getUint32(o + 4, true)]);
  o = pad8(o);
  const arrays: AnyArray[] = [];
  for (const [dtype, length] of metas) {
    const ctor = DTYPES[dtype - 1];
    if (!ctor) fail(`array dtype ${dtype}`);
    const bytes = length * ctor.BYTES_PER_ELEMENT;
    if (o + bytes > blob.length) fail('truncated data');
    // Copy: the blob's offset need not be aligned for the element type.
    const copy = new Uint8Array(bytes);
    copy.set(blob.subarray(o, o + bytes));
    arrays.push(new ctor(copy.buffer, 0, length));
    o += pad8(bytes);
  }
  return { scalars, arrays };
}

function expect(scalars: number[], arrays: AnyArray[], ns: number, types: readonly (typeof DTYPES)[number][]): void {
  if (scalars.length !== ns || arrays.length !== types.length || arrays.some((a, i) => !(a instanceof types[i]))) {
    throw new KernelError('BAD_DATA', 'kernel blob has the wrong fields for its kind');
  }
}

const OPTION_KEYS = [
  'patchSize',
  'seed',
  'maxIterations',
  'minIterations',
  'convergence',
  'changeThreshold',
  'tileSize',
  'topHoleRadius',
  'confidenceBase',
  'similarityScale',
  'proximity',
] as const satisfies readonly (keyof PlanOptions)[];
const DISTANCES: DistanceKind[] = ['cie76', 'cie2000'];

export function encodePlan(plan: Plan): Uint8Array {
  const scalars = [plan.width, plan.height, plan.holeCount, ...OPTION_KEYS.map((k) => plan.options[k] as number), DISTANCES.indexOf(plan.options.distance), plan.levels.length];
  for (const l of plan.levels) scalars.push(l.level, l.width, l.height, l.holeCount, l.targetCount, l.sourceCount);
  return encodeRaw(BlobKind.plan, scalars, plan.levels.map((l) => l.tiles));
}

export function decodePlan(blob: Uint8Array): Plan {
  const { scalars, arrays } = decodeRaw(blob, BlobKind.plan);
  const fixed = 3 + OPTION_KEYS.length + 2;
  const levelCount = scalars[fixed - 1];
  expect(scalars, arrays, fixed + 6 * levelCount, new Array(levelCount).fill(Int32Array));
  const options = Object.fromEntries(OPTION_KEYS.map((k, i) => [k, scalars[3 + i]])) as unknown as PlanOptions;
  options.distance = DISTANCES[scalars[3 + OPTION_KEYS.length]];
  const levels: LevelPlan[] = [];
  for (let i = 0; i < levelCount; i++) {
    const b = fixed + 6 * i;
    levels.push({
      level: scalars[b],
      width: scalars[b + 1],
      height: scalars[b + 2],
      holeCount: scalars[b + 3],
      targetCount: scalars[b + 4],
      sourceCount: scalars[b + 5],
      tiles: arrays[i] as Int32Array,
    });
  }
  return { width: scalars[0], height: scalars[1], holeCount: scalars[2], options, levels };
}

const STATIC_TYPES = [Float32Array, Uint8Array, Int32Array, Int32Array, Uint8Array, Int32Array, Int32Array, Float32Array, Int32Array, Int32Array, Int32Array, Int32Array] as const;

export function encodeLevelStatic(s: LevelStatic): Uint8Array {
  return encodeRaw(BlobKind.levelStatic, [s.level, s.width, s.height, s.sourceCount], [
    s.lab,
    s.feat,
    s.targetIndex,
    s.targetHole,
    s.validSource,
    s.holePixels,
    s.targetPixels,
    s.targetConfidence,
    s.tiles,
    s.tileHoleStart,
    s.tileTargetStart,
    s.offsets,
  ]);
}

export function decodeLevelStatic(blob: Uint8Array): LevelStatic {
  const { scalars, arrays } = decodeRaw(blob, BlobKind.levelStatic);
  expect(scalars, arrays, 4, STATIC_TYPES);
  const [lab, feat, targetIndex, targetHole, validSource, holePixels, targetPixels, targetConfidence, tiles, tileHoleStart, tileTargetStart, offsets] = arrays;
  return {
    level: scalars[0],
    width: scalars[1],
    height: scalars[2],
    sourceCount: scalars[3],
    lab: lab as Float32Array,
    feat: feat as Uint8Array,
    targetIndex: targetIndex as Int32Array,
    targetHole: targetHole as Int32Array,
    validSource: validSource as Uint8Array,
    holePixels: holePixels as Int32Array,
    targetPixels: targetPixels as Int32Array,
    targetConfidence: targetConfidence as Float32Array,
    tiles: tiles as Int32Array,
    tileHoleStart: tileHoleStart as Int32Array,
    tileTargetStart: tileTargetStart as Int32Array,
    offsets: offsets as Int32Array,
  };
}

export function encodeLevelState(s: LevelState): Uint8Array {
  return encodeRaw(BlobKind.levelState, [s.level, s.iteration, s.voteScale, s.changed, s.warmup, s.previousChanged], [s.values, s.nnf, s.dist]);
}

export function decodeLevelState(blob: Uint8Array): LevelState {
  const { scalars, arrays } = decodeRaw(blob, BlobKind.levelState);
  expect(scalars, arrays, 6, [Float32Array, Int32Array, Float32Array]);
  return {
    level: scalars[0],
    iteration: scalars[1],
    voteScale: scalars[2],
    changed: scalars[3],
    warmup: scalars[4],
    previousChanged: scalars[5],
    values: arrays[0] as Float32Array,
    nnf: arrays[1] as Int32Array,
    dist: arrays[2] as Float32Array,
  };
}

export function encodeTileResult(r: TileResult): Uint8Array {
  return encodeRaw(BlobKind.tileResult, [r.level, r.iteration, r.tile, r.changed], [r.values, r.nnf, r.dist]);
}

export function decodeTileResult(blob: Uint8Array): TileResult {
  const { scalars, arrays } = decodeRaw(blob, BlobKind.tileResult);
  expect(scalars, arrays, 4, [Float32Array, Int32Array, Float32Array]);
  return {
    level: scalars[0],
    iteration: scalars[1],
    tile: scalars[2],
    changed: scalars[3],
    values: arrays[0] as Float32Array,
    nnf: arrays[1] as Int32Array,
    dist: arrays[2] as Float32Array,
  };
}
