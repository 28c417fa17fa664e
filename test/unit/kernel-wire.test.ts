// What crosses the wire between client and nodes: result batches, options, job keys, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CodedError } from '../../src/common/errors.ts';
import { decodeResultBatch, encodeResultBatch, resultBatchTiles } from '../../src/kernel/cluster/result-batch.ts';
import { fromServiceError, toStatus, NodeErrorCode } from '../../src/kernel/cluster/status.ts';
import { jobKeyOf, optionsFromWire, optionsToWire, planOptionsOf } from '../../src/kernel/cluster/wire.ts';
import { DEFAULT_OPTIONS, KernelError, type TileResult } from '../../src/kernel/index.ts';
import { encodeTileResult } from '../../src/kernel/codec.ts';

function tileResult(tile: number, n: number): TileResult {
  return {
    level: 2,
    iteration: 3,
    tile,
    changed: tile * 7,
    values: Float32Array.from({ length: n * 3 }, (_, i) => i / 3 + tile),
    nnf: Int32Array.from({ length: n }, (_, i) => i * 11 + tile),
    dist: Float32Array.from({ length: n }, (_, i) => (i % 5) / 7),
  };
}

test('a result batch round-trips its tile results exactly', () => {
  const results = [tileResult(4, 5), tileResult(9, 0), tileResult(11, 33)];
  const blob = encodeResultBatch(results);
  assert.deepEqual(resultBatchTiles(blob), [4, 9, 11]);
  assert.deepEqual(decodeResultBatch(blob), results);
  // An unaligned copy decodes the same (blobs arrive at any offset).
  const shifted = new Uint8Array(blob.length + 3).subarray(3);
  shifted.set(blob);
  assert.deepEqual(decodeResultBatch(shifted), results);
});

test('the compact nnf round-trips any field exactly: coherent runs, jumps both ways, extremes; vote results have none', () => {
  const nnf = Int32Array.from([0, 1, 2, 3, 2_000_000_000, 5, 0, 0x7fffffff, 0, 1_000_000, 999_999, 12, 13, 14, 15]);
  const r: TileResult = { level: 0, iteration: 7, tile: 3, changed: 4_000_000, values: Float32Array.from([1.5, -0, NaN, 3e38]), nnf, dist: Float32Array.from(nnf, (q) => q / 3) };
  const vote: TileResult = { level: 0, iteration: 8, tile: 4, changed: 0, values: Float32Array.from([0.25, 7, 9]), nnf: new Int32Array(0), dist: new Float32Array(0) };
  const blob = encodeResultBatch([r, vote]);
  assert.deepEqual(decodeResultBatch(blob), [r, vote]);
  // A coherent field (each match its predecessor's + 1) costs about a byte per target.
  const coherent = tileResult(0, 2000);
  coherent.nnf = Int32Array.from({ length: 2000 }, (_, i) => 50_000 + i);
  const raw = coherent.values.byteLength + coherent.dist.byteLength + coherent.nnf.byteLength;
  assert.ok(encodeResultBatch([coherent]).length < raw - 2.5 * coherent.nnf.length, 'the nnf is stored in about a byte per target');
  // Version 1 batches (codec tile results, written by older nodes) are still read.
  const entry = encodeTileResult(r);
  const v1 = new Uint8Array(24 + ((entry.length + 7) & ~7));
  const dv = new DataView(v1.buffer);
  dv.setUint32(0, 0x42525750, true);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, 1, true);
  dv.setUint32(16, r.tile, true);
  dv.setUint32(20, entry.length, true);
  v1.set(entry, 24);
  assert.deepEqual(decodeResultBatch(v1), [r]);
});

test('damaged result batches fail with BAD_DATA, never garbage', () => {
  const blob = encodeResultBatch([tileResult(1, 4), tileResult(2, 4)]);
  const bad = (b: Uint8Array): void => assert.throws(() => decodeResultBatch(b), (e: unknown) => e instanceof KernelError && e.code === 'BAD_DATA');
  bad(blob.subarray(0, 10));
  bad(blob.subarray(0, blob.length - 8));
  const wrongMagic = Uint8Array.from(blob);
  wrongMagic[0] ^= 0xff;
  bad(wrongMagic);
  const wrongTile = Uint8Array.from(blob);
  new DataView(wrongTile.buffer).setUint32(16, 99, true);
  bad(wrongTile);
  // A damaged nnf (a varint running past its bytes) is caught, not read as another field.
  const badNnf = Uint8Array.from(blob);
  badNnf[new DataView(blob.buffer).getUint32(20, true) + 32 - 1] = 0xff;
  bad(badNnf);
});

test('plan options survive the wire; unset fields stay unset; job keys follow inputs and options', () => {
  const back = optionsFromWire(optionsToWire({ ...DEFAULT_OPTIONS, seed: 42, distance: 'cie2000' }));
  assert.deepEqual({ ...DEFAULT_OPTIONS, seed: 42, distance: 'cie2000' }, back);
  assert.deepEqual(optionsFromWire(optionsToWire({})), Object.fromEntries(Object.keys(back).filter((k) => k !== 'distance').map((k) => [k, undefined])));
  const job = { jobId: 'a', imageBlobId: 'a'.repeat(64), maskBlobId: 'b'.repeat(64), donorBlobIds: [], options: optionsToWire({ seed: 3 }) };
  assert.equal(planOptionsOf(job).seed, 3);
  const key = jobKeyOf(job);
  assert.equal(jobKeyOf({ ...job, jobId: 'another id' }), key, 'the job id is not part of the data identity');
  assert.notEqual(jobKeyOf({ ...job, options: optionsToWire({ seed: 4 }) }), key);
  assert.notEqual(jobKeyOf({ ...job, maskBlobId: 'c'.repeat(64) }), key);
  assert.equal(jobKeyOf({ ...job, options: optionsToWire({ seed: 3, patchSize: DEFAULT_OPTIONS.patchSize }) }), key, 'defaults spelled out give the same key');
});

function asServiceError(st: ReturnType<typeof toStatus>): ServiceError {
  return Object.assign(new Error(st.details), { code: st.code!, details: st.details!, metadata: st.metadata! });
}

test('errors keep their code and retryable flag across the wire', () => {
  const cases: [unknown, number, string, boolean][] = [
    [new KernelError('BAD_OPTION', 'patchSize must be odd'), status.INVALID_ARGUMENT, 'BAD_OPTION', false],
    [new CodedError(NodeErrorCode.busy, 'full', { retryable: true }), status.RESOURCE_EXHAUSTED, 'KERNEL_BUSY', true],
    [new CodedError(NodeErrorCode.draining, 'bye', { retryable: true }), status.UNAVAILABLE, 'KERNEL_DRAINING', true],
    [new CodedError(NodeErrorCode.badStep, 'order'), status.FAILED_PRECONDITION, 'BAD_STEP', false],
    [new CodedError('BLOB_NOT_FOUND', 'gone'), status.NOT_FOUND, 'BLOB_NOT_FOUND', false],
    [new Error('surprise'), status.UNAVAILABLE, 'INTERNAL', true],
  ];
  for (const [err, grpcCode, code, retryable] of cases) {
    const st = toStatus(err);
    assert.equal(st.code, grpcCode, code);
    const back = fromServiceError(asServiceError(st), 'n1');
    assert.equal(back.code, code);
    assert.equal(back.retryable, retryable, code);
    assert.equal(back.details?.node, 'n1');
  }
});

test('gRPC-level failures map to retryable kernel codes', () => {
  const e = (code: number, details: string): ServiceError => Object.assign(new Error(details), { code, details, metadata: new Metadata() });
  assert.equal(fromServiceError(e(status.UNAVAILABLE, 'connection refused'), 'n').code, 'KERNEL_UNAVAILABLE');
  assert.equal(fromServiceError(e(status.DEADLINE_EXCEEDED, 'late'), 'n').retryable, true);
  assert.equal(fromServiceError(e(status.RESOURCE_EXHAUSTED, 'busy'), 'n').code, 'KERNEL_BUSY');
  const big = fromServiceError(e(status.RESOURCE_EXHAUSTED, 'Received message larger than max (5000000 vs 4194304)'), 'n');
  assert.equal(big.code, 'MESSAGE_TOO_LARGE');
  assert.equal(big.retryable, false);
});
