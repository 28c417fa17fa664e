// The quick start's first command: `patchwork run` with no gateway to talk to starts its own
// cluster (nats-server, kernel nodes, a gateway, as separate processes), runs the job there,
// writes the same bytes as `patchwork local`, and leaves no process and no data folder behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { wantsEmbedded } from '../../src/cli/client/embedded.ts';
import { encodeImage } from '../../src/kernel/index.ts';
import { discMask, texturedImage } from '../support/images.ts';
import { runPatchwork } from '../support/up-cluster.ts';

/** Processes whose command line mentions `needle` (the private temp folder of this test). */
function processesMentioning(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

test('when to embed: asked for, or no gateway named and none answering', async () => {
  assert.equal(await wantsEmbedded({ embedded: true, endpoint: 'http://127.0.0.1:1' }, {}), true);
  assert.equal(await wantsEmbedded({ endpoint: 'http://127.0.0.1:1' }, {}), false, 'a named endpoint is used (and its failure reported), never replaced');
  assert.equal(await wantsEmbedded({}, { PATCHWORK_ENDPOINT: 'http://127.0.0.1:1' }), false);
});

test('run --embedded: same bytes as patchwork local; nothing left running or on disk', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-embedded-'));
  // The embedded cluster's data folder goes under TMPDIR: a private one shows what is left.
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  try {
    writeFileSync(join(dir, 'photo.png'), await encodeImage(texturedImage(120, 90, 7), 'png'));
    writeFileSync(join(dir, 'mask.png'), await encodeImage(discMask(120, 90, 50, 40, 13), 'png'));
    const local = await runPatchwork(['local', join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'local.png'), '--seed', '3']);
    assert.equal(local.code, 0, local.stderr);

    const run = await runPatchwork(['run', join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'embedded.png'), '--seed', '3', '--embedded'], {
      env: { TMPDIR: tmp, PATCHWORK_ENDPOINT: '', PATCHWORK_TOKEN: '' },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /starting an embedded cluster/);
    assert.match(run.stderr, /stopping the embedded cluster/);
    assert.match(run.stdout, /^wrote .*embedded\.png \(120x90\)/);
    assert.ok(readFileSync(join(dir, 'embedded.png')).equals(readFileSync(join(dir, 'local.png'))), 'same bytes as patchwork local');

    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('patchwork-run-')), [], 'the data folder is removed');
    assert.deepEqual(processesMentioning(tmp), [], 'no child process is left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
