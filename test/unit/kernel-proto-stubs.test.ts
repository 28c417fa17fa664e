// The committed gRPC stubs must be what `npm run gen:proto` makes from the committed .proto, and
// the .proto must pass buf lint: regenerate into a temp dir and compare file by file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const buf = join(root, 'node_modules/.bin/buf');
const committed = join(root, 'src/kernel/generated');

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

test('buf lint passes on the kernel contract', () => {
  execFileSync(buf, ['lint'], { cwd: root, stdio: 'pipe' });
});

test('committed stubs match a fresh buf generate', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pw-proto-'));
  try {
    execFileSync(buf, ['generate', '--output', tmp], { cwd: root, stdio: 'pipe' });
    const fresh = join(tmp, 'src/kernel/generated');
    const want = files(fresh);
    assert.ok(want.length > 0, 'buf generate produced no files');
    assert.deepEqual(files(committed), want, 'generated file list differs: run npm run gen:proto and commit');
    for (const f of want) {
      assert.equal(readFileSync(join(committed, f), 'utf8'), readFileSync(join(fresh, f), 'utf8'), `${f} is stale: run npm run gen:proto and commit`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
