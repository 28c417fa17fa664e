// The CLI client's pure parts: where it connects, how it types files, which exit code an error
// means, and what it prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConnection } from '../../src/cli/client/endpoint.ts';
import { ClientError, JobFailedError } from '../../src/cli/client/errors.ts';
import { outputFormat, sniffContentType } from '../../src/cli/client/files.ts';
import type { JobData } from '../../src/cli/client/documents.ts';
import { jobDetails, jobTable, levelText } from '../../src/cli/client/output.ts';
import sharp from 'sharp';
import { rectMask } from '../support/images.ts';

test('endpoint and token: flags, then PATCHWORK_ENDPOINT / PATCHWORK_TOKEN, then the local cluster', () => {
  assert.deepEqual(resolveConnection({}, {}), { endpoint: 'http://127.0.0.1:4000', token: undefined });
  assert.deepEqual(resolveConnection({}, { PATCHWORK_ENDPOINT: 'https://fill.example.com/', PATCHWORK_TOKEN: 't1' }), { endpoint: 'https://fill.example.com', token: 't1' });
  assert.deepEqual(resolveConnection({ endpoint: 'http://h:5/graphql', token: 't2' }, { PATCHWORK_ENDPOINT: 'http://x', PATCHWORK_TOKEN: 't1' }), { endpoint: 'http://h:5', token: 't2' });
  assert.deepEqual(resolveConnection({ endpoint: 'http://h/api/' }, {}), { endpoint: 'http://h/api', token: undefined });
  assert.throws(() => resolveConnection({ endpoint: 'not a url' }, {}), (e: ClientError) => e.code === 'BAD_OPTION' && e.exitCode === 2);
  assert.throws(() => resolveConnection({ endpoint: 'ftp://h' }, {}), { code: 'BAD_OPTION' });
});

test('exit codes: 2 for what the user can fix, 1 for the rest', () => {
  for (const code of ['BAD_USER_INPUT', 'NOT_FOUND', 'UNAUTHENTICATED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INPUT_FILE', 'OUTPUT_FILE', 'BAD_OPTION']) {
    assert.equal(new ClientError(code, 'x').exitCode, 2, code);
  }
  for (const code of ['INTERNAL_SERVER_ERROR', 'UNREACHABLE', 'RATE_LIMITED', 'BAD_RESPONSE', 'JOB_CANCELED']) assert.equal(new ClientError(code, 'x').exitCode, 1, code);
  assert.equal(new JobFailedError('j1', 'EMPTY_SOURCE', 'nothing to copy from').exitCode, 2);
  assert.equal(new JobFailedError('j1', 'INTERNAL', 'boom').exitCode, 1);
  const e = new ClientError('BAD_USER_INPUT', 'mask size differs', 'BAD_MASK_SIZE');
  assert.equal(e.describe(), 'BAD_USER_INPUT (BAD_MASK_SIZE): mask size differs');
  assert.deepEqual(e.toJSON(), { code: 'BAD_USER_INPUT', reason: 'BAD_MASK_SIZE', message: 'mask size differs' });
});

test('files are typed by their bytes; outputs by their extension', async () => {
  const mask = rectMask(8, 8, 2, 2, 6, 6);
  const raw = sharp(Buffer.from(mask.data), { raw: { width: 8, height: 8, channels: 4 } });
  assert.equal(sniffContentType(await raw.clone().png().toBuffer()), 'image/png');
  assert.equal(sniffContentType(await raw.clone().jpeg().toBuffer()), 'image/jpeg');
  assert.equal(sniffContentType(await raw.clone().webp().toBuffer()), 'image/webp');
  assert.equal(sniffContentType(new TextEncoder().encode('GIF89a......')), 'application/octet-stream');
  assert.equal(outputFormat('a/b.PNG'), 'png');
  assert.equal(outputFormat('x.jpeg'), 'jpeg');
  assert.throws(() => outputFormat('x.gif'), (e: ClientError) => e.code === 'OUTPUT_FILE' && e.exitCode === 2);
});

const job = (over: Partial<JobData> = {}): JobData => ({
  id: 'j-1',
  status: 'RUNNING',
  progress: 0.426,
  level: 1,
  levels: 4,
  iteration: 3,
  createdAt: '2026-01-01T10:00:00.000Z',
  updatedAt: '2026-01-01T10:00:05.000Z',
  image: { id: 'i', url: '/blobs/i', width: 640, height: 480, contentType: 'image/jpeg' },
  mask: { id: 'm', url: '/blobs/m', width: 640, height: 480, contentType: 'image/png' },
  preview: { id: 'p', url: '/blobs/p', width: 640, height: 480, contentType: 'image/png' },
  result: null,
  error: null,
  options: { patchSize: 7, seed: 1, maxIterations: 10, distance: 'CIE76' },
  stats: { kernelCpuMs: 1234.5, kernelCalls: 40, events: 120, blobBytes: 204800 },
  version: 17,
  ...over,
});

test('what people read: levels count up from the coarsest, a table, the details', () => {
  assert.equal(levelText(job()), '3/4');
  assert.equal(levelText(job({ level: null })), '-');
  const table = jobTable([job(), job({ id: 'j-2', status: 'COMPLETED', progress: 1, level: 0, iteration: 5 })]).split('\n');
  assert.match(table[0], /^ID\s+STATUS\s+PROGRESS\s+LEVEL\s+ITER\s+SIZE\s+CREATED$/);
  assert.match(table[1], /^j-1\s+RUNNING\s+42%\s+3\/4\s+3\s+640x480/);
  assert.match(table[2], /^j-2\s+COMPLETED\s+100%\s+4\/4\s+5/);
  assert.equal(jobTable([]), 'no jobs yet');
  const details = jobDetails(job({ error: { code: 'EMPTY_SOURCE', message: 'nothing left' } }));
  assert.match(details, /status\s+RUNNING/);
  assert.match(details, /progress\s+42% {2}\(level 3\/4, iteration 3\)/);
  assert.match(details, /error\s+EMPTY_SOURCE: nothing left/);
  assert.match(details, /cost\s+1235 ms kernel CPU, 40 kernel calls, 120 events, 200 KiB stored/);
});
