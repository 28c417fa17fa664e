#!/usr/bin/env node
// Builds the web page (src/gateway/web) into src/gateway/web/dist, which the gateway serves at
// `/`: the TypeScript bundled with esbuild (graphql-ws's browser client included, nothing from
// a CDN), the stylesheet minified, index.html copied. The output is committed so that a clean
// clone serves the page without a build step; test/unit/web-bundle.test.ts fails when it is stale.
// Run: npm run build:web
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(fileURLToPath(import.meta.url), '../..');
export const WEB_DIR = join(root, 'src/gateway/web');
export const DIST_DIR = join(WEB_DIR, 'dist');

/** Builds into `outDir`; returns the file names written. Deterministic for a given esbuild. */
export async function buildWeb(outDir = DIST_DIR) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const common = { bundle: true, minify: true, write: false, logLevel: 'silent', legalComments: 'eof', charset: 'utf8' };
  const [js, css] = await Promise.all([
    build({ ...common, entryPoints: [join(WEB_DIR, 'src/main.ts')], outfile: join(outDir, 'app.js'), format: 'esm', platform: 'browser', target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'] }),
    build({ ...common, entryPoints: [join(WEB_DIR, 'styles.css')], outfile: join(outDir, 'app.css'), target: ['chrome111', 'firefox113', 'safari16.4'] }),
  ]);
  const files = { 'index.html': readFileSync(join(WEB_DIR, 'index.html')) };
  for (const out of [...js.outputFiles, ...css.outputFiles]) files[out.path.slice(outDir.length + 1)] = out.contents;
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(outDir, name), bytes);
  return Object.keys(files).sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildWeb();
  console.log(`built ${files.join(', ')} into ${DIST_DIR}`);
}
