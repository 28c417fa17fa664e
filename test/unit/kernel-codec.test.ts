import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeLevelState,
  decodeLevelStatic,
  decodePlan,
  decodeTileResult,
  encodeLevelState,
  encodeLevelStatic,
  encodePlan,
  encodeTileResult,
  initTopLevel,
  KernelError,
  maskToBinary,
  prepare,
  resolveOptions,
  runTile,
} from '../../src/kernel/index.ts';
import { discMask, texturedImage } from '../support/images.ts';

const { plan: options } = resolveOptions({ seed: 42, distance: 'cie2000', tileSize: 40 });
const w = 100;
const h = 80;
const { plan, levels } = prepare(texturedImage(w, h), maskToBinary(discMask(w, h, 50, 40, 14), w, h), null, options);

test('plan, level static, level state and tile result round-trip exactly', () => {
  assert.deepEqual(decodePlan(encodePlan(plan)), plan);
  for (const s of levels) assert.deepEqual(decodeLevelStatic(encodeLevelStatic(s)), s);
  const s = levels[levels.length - 1];
  const state = initTopLevel(s, options);
  state.voteScale = 0.1 + 0.2; // a float that needs all 64 bits
  assert.deepEqual(decodeLevelState(encodeLevelState(state)), state);
  const result = runTile(s, state, options, 0);
  assert.deepEqual(decodeTileResult(encodeTileResult(result)), result);
});

test('blobs decode from unaligned offsets (as slices of a bigger buffer)', () => {
  const blob = encodeLevelStatic(levels[0]);
  const padded = new Uint8Array(blob.length + 3);
  padded.set(blob, 3);
  assert.deepEqual(decodeLevelStatic(padded.subarray(3)), levels[0]);
});

test('bad blobs are BAD_DATA: wrong kind, truncated, garbage', () => {
  const state = encodeLevelState(initTopLevel(levels[0], options));
  const bad = (f: () => unknown): void => assert.throws(f, (e: unknown) => e instanceof KernelError && e.code === 'BAD_DATA');
  bad(() => decodeTileResult(state));
  bad(() => decodeLevelState(state.subarray(0, state.length - 9)));
  bad(() => decodeLevelState(new Uint8Array(40).fill(7)));
  bad(() => decodePlan(new Uint8Array(3)));
});
