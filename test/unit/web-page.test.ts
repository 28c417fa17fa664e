// The web page's build and its pure parts. The bundle in src/gateway/web/dist is committed so a
// clean clone serves the page with no build step: this test rebuilds it and fails when the
// committed files differ (run `npm run build:web`). The page itself is tested in real Chromium
// (test/browser/).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { History } from '../../src/gateway/web/src/history.ts';
import { repoRoot } from '../support/up-cluster.ts';

test('the committed bundle (src/gateway/web/dist) is what the sources build to', async () => {
  const { buildWeb, DIST_DIR } = (await import(join(repoRoot, 'scripts/build-web.mjs'))) as { buildWeb(out?: string): Promise<string[]>; DIST_DIR: string };
  const out = mkdtempSync(join(tmpdir(), 'pw-web-'));
  try {
    const files = await buildWeb(out);
    assert.deepEqual(files, ['app.css', 'app.js', 'index.html']);
    for (const f of files) {
      let committed: Buffer;
      try {
        committed = readFileSync(join(DIST_DIR, f));
      } catch {
        assert.fail(`${f} is missing from src/gateway/web/dist: run npm run build:web and commit it`);
      }
      assert.ok(committed.equals(readFileSync(join(out, f))), `src/gateway/web/dist/${f} is stale: run npm run build:web and commit it`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the page loads nothing from elsewhere (no CDN)', () => {
  const html = readFileSync(join(repoRoot, 'src/gateway/web/index.html'), 'utf8');
  const js = readFileSync(join(repoRoot, 'src/gateway/web/dist/app.js'), 'utf8');
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.ok(!/^(https?:)?\/\//.test(m[1]), `index.html loads ${m[1]}`);
  assert.ok(!/import\s*\(?\s*["']https?:/.test(js), 'the bundle imports nothing by URL');
  assert.match(js, /graphql-transport-ws/, 'the graphql-ws client is bundled');
});

test('undo and redo move through the strokes; a new stroke drops the redo tail', () => {
  const h = new History<string>();
  assert.equal(h.canUndo, false);
  h.push('a');
  h.push('b');
  h.push('c');
  assert.ok(h.undo());
  assert.deepEqual(h.applied(), ['a', 'b']);
  assert.ok(h.canRedo);
  assert.ok(h.redo());
  assert.deepEqual(h.applied(), ['a', 'b', 'c']);
  assert.equal(h.redo(), false);
  h.undo();
  h.undo();
  h.push('d');
  assert.deepEqual(h.applied(), ['a', 'd']);
  assert.equal(h.canRedo, false);
  h.undo();
  h.undo();
  assert.equal(h.undo(), false);
  assert.deepEqual(h.applied(), []);
});
