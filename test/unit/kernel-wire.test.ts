// What crosses the wire between client and nodes: result batches, options, job keys, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CodedError } from '../../src/common/errors.ts';
import { decodeResultBatch, encodeResultBatch, resultBatchTiles } from '../../src/kernel/cluster/result-batch.ts';
import { fromServiceError, toStatus, NodeErrorCode } from '../../src/kernel/cluster/status.ts';
import { jobKeyOf, optionsFromWire, optionsToWire, planOptionsOf } from '../../src/kernel/cluster/wire.ts';
import { DEFAULT_OPTIONS, KernelError, type TileResult } from '../../src/kernel/index.ts';

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
