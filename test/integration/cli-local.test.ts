// `patchwork local` as a user runs it: the real bin/patchwork in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeImage, encodeImage } from '../../src/kernel/index.ts';
import { bits, discMask, texturedImage } from '../support/images.ts';

const bin = resolve(fileURLToPath(import.meta.url), '../../../bin/patchwork');

function patchwork(args: string[]) {
  return spawnSync(bin, args, { encoding: 'utf8', timeout: 120_000 });
}

async function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'patchwork-cli-'));
  const img = texturedImage(96, 64);
  const mask = discMask(96, 64, 48, 32, 12);
  writeFileSync(join(dir, 'in.png'), await encodeImage(img, 'png'));
  writeFileSync(join(dir, 'mask.png'), await encodeImage(mask, 'png'));
  writeFileSync(join(dir, 'small-mask.png'), await encodeImage(discMask(50, 50, 25, 25, 5), 'png'));
  writeFileSync(join(dir, 'junk.png'), 'not an image');
  return { dir, img, mask };
}

test('fills, writes the output, previews, exit 0 and quiet when not on a terminal', async () => {
  const { dir, img, mask } = await fixture();
  try {
    const out = join(dir, 'out.png');
    const res = patchwork(['local', join(dir, 'in.png'), '--mask', join(dir, 'mask.png'), '--out', out, '--seed', '5', '--previews', join(dir, 'previews'), '--workers', '2']);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, '');
    assert.equal(res.stderr, '');
    const result = await decodeImage(out);
    const hole = bits(mask);
    for (let p = 0; p < hole.length; p++) if (!hole[p]) assert.equal(result.data[p * 4], img.data[p * 4]);
    const previews = readdirSync(join(dir, 'previews'));
    assert.ok(previews.length >= 3 && previews.every((f) => /^level\d+-iter\d+\.png$/.test(f)), previews.join(' '));
    // Same seed through one thread: the same bytes.
    const out1 = join(dir, 'out1.png');
    assert.equal(patchwork(['local', join(dir, 'in.png'), '--mask', join(dir, 'mask.png'), '--out', out1, '--seed', '5', '--workers', '1']).status, 0);
    assert.deepEqual((await decodeImage(out1)).data, result.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: exit 2 with one line saying what is wrong', async () => {
  const { dir } = await fixture();
  try {
    const cases: [string[], RegExp][] = [
      [['local', join(dir, 'in.png'), '--mask', join(dir, 'small-mask.png'), '--out', join(dir, 'o.png')], /50x50 but the image is 96x64/],
      [['local', join(dir, 'junk.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'o.png')], /not a readable image/],
      [['local', join(dir, 'in.png'), '--mask', join(dir, 'junk.png'), '--out', join(dir, 'o.png')], /mask .* not a readable image/],
      [['local', join(dir, 'in.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'o.png'), '--patch-size', '8'], /patchSize must be odd/],
      [['local', join(dir, 'in.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'o.png'), '--patch-size', 'seven'], /not an integer/],
      [['local', join(dir, 'in.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'o.png'), '--distance', 'cie94'], /cie76 or cie2000/],
      [['local', join(dir, 'in.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'o.gif')], /\.png, \.jpg or \.webp/],
      [['local', join(dir, 'in.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'no/such/dir/o.png')], /cannot write/],
      [['local', join(dir, 'in.png'), '--out', join(dir, 'o.png')], /--mask/],
    ];
    for (const [args, message] of cases) {
      const res = patchwork(args);
      assert.equal(res.status, 2, `${args.join(' ')}: status ${res.status}, ${res.stderr}`);
      assert.match(res.stderr, message);
    }
    // Kernel errors are exactly one line.
    const one = patchwork(cases[0][0]);
    assert.equal(one.stderr.trim().split('\n').length, 1, one.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help lists the local command and its options, exit 0', () => {
  const res = patchwork(['local', '--help']);
  assert.equal(res.status, 0);
  for (const opt of ['--mask', '--out', '--donor', '--patch-size', '--seed', '--max-iterations', '--distance', '--previews']) assert.match(res.stdout, new RegExp(opt));
});
