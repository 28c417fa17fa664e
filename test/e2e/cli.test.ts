// The CLI client against a real `patchwork up` cluster (nats-server, kernel nodes, gateway, all
// separate processes): the result of `patchwork run` is byte-for-byte `patchwork local`'s for the
// same seed; jobs/status/cancel and --json work for scripts; errors exit 2 with the gateway's
// code (or 1 when it is not the input's fault); Ctrl-C cancels the job on the gateway.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeImage } from '../../src/kernel/index.ts';
import { discMask, rectMask, texturedImage } from '../support/images.ts';
import { patchworkBin, runPatchwork, startUp, waitUntil, type UpCluster } from '../support/up-cluster.ts';

const TOKEN = 'cli-test-token-1';
let up: UpCluster;
let dir: string;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pw-cli-'));
  up = await startUp(['--kernels', '2'], { PATCHWORK_TOKENS: `${TOKEN}=alice` });
  env = { PATCHWORK_ENDPOINT: up.url, PATCHWORK_TOKEN: TOKEN };
  writeFileSync(join(dir, 'photo.png'), await encodeImage(texturedImage(120, 90, 3), 'png'));
  writeFileSync(join(dir, 'mask.png'), await encodeImage(discMask(120, 90, 60, 45, 14), 'png'));
  writeFileSync(join(dir, 'small-mask.png'), await encodeImage(discMask(60, 45, 30, 22, 8), 'png'));
});

after(async () => {
  await up?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface JobJson {
  id: string;
  status: string;
  options: { seed: number };
  result: { width: number; height: number } | null;
}

test('run: the result equals patchwork local for the same seed; previews are saved; --json for scripts', async () => {
  const local = await runPatchwork(['local', join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'local.png'), '--seed', '5']);
  assert.equal(local.code, 0, local.stderr);
  const run = await runPatchwork(['run', join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'cluster.png'), '--seed', '5', '--previews', join(dir, 'previews'), '--json'], { env });
  assert.equal(run.code, 0, run.stderr);
  const { out, job } = JSON.parse(run.stdout) as { out: string; job: JobJson };
  assert.equal(out, join(dir, 'cluster.png'));
  assert.equal(job.status, 'COMPLETED');
  assert.equal(job.options.seed, 5);
  assert.deepEqual([job.result?.width, job.result?.height], [120, 90]);
  assert.ok(readFileSync(join(dir, 'cluster.png')).equals(readFileSync(join(dir, 'local.png'))), 'same bytes as patchwork local');
  const previews = readdirSync(join(dir, 'previews'));
  assert.ok(previews.length >= 1 && previews.every((f) => /^level\d+-iter\d\d\.png$/.test(f)), previews.join(','));

  // Human output, without --json: one line with what was written.
  const again = await runPatchwork(['run', join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'again.jpg'), '--seed', '5'], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^wrote .*again\.jpg \(120x90\) from job \S+ in [\d.]+ s\n$/);
  assert.match(again.stderr, /job \S+: COMPLETED/);
  assert.equal(readFileSync(join(dir, 'again.jpg'))[0], 0xff, 'converted to the JPEG the name asks for');

  const jobs = await runPatchwork(['jobs', '--json'], { env });
  assert.equal(jobs.code, 0, jobs.stderr);
  const listed = (JSON.parse(jobs.stdout) as { jobs: JobJson[] }).jobs.map((j) => j.id);
  assert.ok(listed.includes(job.id), `${job.id} in ${listed.join(',')}`);
  const table = await runPatchwork(['jobs'], { env });
  assert.match(table.stdout, new RegExp(`^ID\\s+STATUS[\\s\\S]*${job.id}\\s+COMPLETED\\s+100%`));

  const status = await runPatchwork(['status', job.id, '--json'], { env });
  assert.equal((JSON.parse(status.stdout) as { job: JobJson }).job.status, 'COMPLETED');
  const text = await runPatchwork(['status', job.id], { env });
  assert.match(text.stdout, /status\s+COMPLETED[\s\S]*result\s+\S*\/blobs\//);
});

test('errors: exit 2 with the gateway code for bad input, 1 when the gateway is unreachable', async () => {
  const noToken = await runPatchwork(['jobs'], { env: { PATCHWORK_ENDPOINT: up.url } });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /^patchwork jobs: UNAUTHENTICATED/);

  const unknown = await runPatchwork(['status', 'no-such-job', '--json'], { env });
  assert.equal(unknown.code, 2);
  assert.equal((JSON.parse(unknown.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');

  const badMask = await runPatchwork(['run', join(dir, 'photo.png'), '--mask', join(dir, 'small-mask.png'), '--out', join(dir, 'x.png')], { env });
  assert.equal(badMask.code, 2, badMask.stderr);
  assert.match(badMask.stderr, /BAD_USER_INPUT/);

  const badPatch = await runPatchwork(['run', join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'x.png'), '--patch-size', '4', '--json'], { env });
  assert.equal(badPatch.code, 2, badPatch.stdout + badPatch.stderr);

  const noFile = await runPatchwork(['run', join(dir, 'nope.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'x.png')], { env });
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /INPUT_FILE: cannot read image .*nope\.png: no such file/);

  const badOut = await runPatchwork(['run', join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'x.gif')], { env });
  assert.equal(badOut.code, 2);

  const down = await runPatchwork(['jobs', '--endpoint', 'http://127.0.0.1:1'], { env });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /UNREACHABLE: cannot reach the gateway at http:\/\/127\.0\.0\.1:1/);
});

test('Ctrl-C during run cancels the job on the gateway and exits 130', async () => {
  writeFileSync(join(dir, 'big.png'), await encodeImage(texturedImage(480, 360, 9), 'png'));
  writeFileSync(join(dir, 'big-mask.png'), await encodeImage(rectMask(480, 360, 140, 100, 340, 260), 'png'));
  const child = spawn(patchworkBin, ['run', join(dir, 'big.png'), '--mask', join(dir, 'big-mask.png'), '--out', join(dir, 'big-out.png'), '--max-iterations', '40'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  try {
    await waitUntil('the job to run', () => /job \S+: RUNNING/.test(stderr), 120_000);
    const id = /job (\S+) created/.exec(stderr)![1];
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, new RegExp(`interrupted: canceling job ${id}[\\s\\S]*job ${id}: CANCELED`));
    const status = await runPatchwork(['status', id, '--json'], { env });
    assert.equal((JSON.parse(status.stdout) as { job: JobJson }).job.status, 'CANCELED');
  } finally {
    child.kill('SIGKILL');
  }
});
