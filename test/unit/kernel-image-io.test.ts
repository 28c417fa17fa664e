import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeImage, encodeImage, formatForPath, KernelError } from '../../src/kernel/index.ts';
import { texturedImage } from '../support/images.ts';

test('PNG and lossless WebP round-trip RGBA exactly; JPEG decodes to the same size', async () => {
  const img = texturedImage(33, 21);
  img.data[3] = 7; // a translucent pixel survives
  for (const format of ['png', 'webp'] as const) {
    const back = await decodeImage(await encodeImage(img, format));
    assert.deepEqual([back.width, back.height], [33, 21]);
    assert.deepEqual(back.data, img.data, format);
  }
  const jpeg = await decodeImage(await encodeImage(img, 'jpeg'));
  assert.deepEqual([jpeg.width, jpeg.height, jpeg.data.length], [33, 21, 33 * 21 * 4]);
});

test('a file that is not an image is BAD_IMAGE (or BAD_MASK for a mask), saying what to give', async () => {
  const junk = new TextEncoder().encode('this is not a picture');
  await assert.rejects(decodeImage(junk), (e: unknown) => e instanceof KernelError && e.code === 'BAD_IMAGE' && /PNG, JPEG or WebP/.test(e.message));
  await assert.rejects(decodeImage(junk, 'mask'), (e: unknown) => e instanceof KernelError && e.code === 'BAD_MASK');
  await assert.rejects(decodeImage('/nonexistent/file.png'), (e: unknown) => e instanceof KernelError && e.code === 'BAD_IMAGE');
});

test('output format follows the file extension', () => {
  assert.equal(formatForPath('a/b.PNG'), 'png');
  assert.equal(formatForPath('x.jpeg'), 'jpeg');
  assert.equal(formatForPath('x.jpg'), 'jpeg');
  assert.equal(formatForPath('x.webp'), 'webp');
  assert.throws(() => formatForPath('x.gif'), (e: unknown) => e instanceof KernelError && e.code === 'BAD_OPTION');
});
