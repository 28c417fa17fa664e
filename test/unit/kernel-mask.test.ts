import assert from 'node:assert/strict';
import { test } from 'node:test';
import { donorUnion, KernelError, maskToBinary, type RgbaImage } from '../../src/kernel/index.ts';

function image(width: number, height: number, px: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(px(x, y), (y * width + x) * 4);
  return { width, height, data };
}

test('an opaque mask marks the hole where luminance > 127', () => {
  // Left half white, right half mid grey 127 / 128 alternating by row; all alpha 255.
  const m = image(4, 2, (x, y) => (x < 2 ? [255, 255, 255, 255] : y === 0 ? [127, 127, 127, 255] : [128, 128, 128, 255]));
  assert.deepEqual([...maskToBinary(m, 4, 2)], [1, 1, 0, 0, 1, 1, 1, 1]);
});

test('luminance weighs green most (Rec. 601)', () => {
  const m = image(3, 1, (x) => (x === 0 ? [255, 0, 0, 255] : x === 1 ? [0, 255, 0, 255] : [0, 0, 255, 255]));
  assert.deepEqual([...maskToBinary(m, 3, 1)], [0, 1, 0]);
});

test('a mask with any alpha below 255 marks the hole where alpha > 0, whatever its colour', () => {
  // A black, semi-transparent markup stroke on a transparent background.
  const m = image(4, 1, (x) => (x === 0 ? [0, 0, 0, 0] : x === 1 ? [0, 0, 0, 1] : x === 2 ? [255, 255, 255, 0] : [0, 0, 0, 128]));
  assert.deepEqual([...maskToBinary(m, 4, 1)], [0, 1, 0, 1]);
});

test('a mask of another size is BAD_MASK_SIZE', () => {
  const m = image(3, 3, () => [255, 255, 255, 255]);
  assert.throws(
    () => maskToBinary(m, 4, 3),
    (e: unknown) => e instanceof KernelError && e.code === 'BAD_MASK_SIZE' && /3x3.*4x3/.test(e.message),
  );
});

test('donor masks follow the same rules and unite', () => {
  const a = image(4, 1, (x) => (x === 0 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
  const b = image(4, 1, (x) => (x === 3 ? [0, 0, 0, 200] : [0, 0, 0, 0]));
  assert.deepEqual([...donorUnion([a, b], 4, 1)!], [1, 0, 0, 1]);
  assert.equal(donorUnion([], 4, 1), null);
  assert.throws(() => donorUnion([image(2, 1, () => [0, 0, 0, 255])], 4, 1), (e: unknown) => e instanceof KernelError && e.code === 'BAD_MASK_SIZE' && /donor mask 1/.test(e.message));
});
