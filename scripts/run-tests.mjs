#!/usr/bin/env node
// Runs the test suite with Node's built-in runner and tsx's loader. Node 20's --test takes no
// globs, so the files are found here: every *.test.ts under the given folders (default: test/).
// Test files run one process each, one at a time: many start their own nats-server and node
// processes, and this machine class has two cores.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const args = process.argv.slice(2);
const runnerFlags = args.filter((a) => a.startsWith('--'));
const roots = args.filter((a) => !a.startsWith('--'));
const skip = new Set(['support', 'fixtures']);

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) {
    if (skip.has(name)) continue;
    collect(join(path, name), out);
  }
  return out;
}

const files = (roots.length ? roots : ['test']).flatMap((r) => collect(resolve(root, r), []));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const loader = `file://${root}/node_modules/tsx/dist/loader.mjs`;
// Safety nets so no run can stall CI: a test file whose tests have all ended exits even if a
// handle lingers (a leaked timer once kept one alive for CI's whole 90 minutes), and a test that
// waits forever fails after 15 minutes (the whole suite takes about 11). That processes of the
// product exit on their own is tested where it matters, by tests that spawn them.
const safety = [
  ...(runnerFlags.some((f) => f.startsWith('--test-force-exit')) ? [] : ['--test-force-exit']),
  ...(runnerFlags.some((f) => f.startsWith('--test-timeout')) ? [] : ['--test-timeout=900000']),
];
const res = spawnSync(process.execPath, ['--import', loader, '--test', '--test-concurrency=1', ...safety, ...runnerFlags, ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(res.status ?? 1);
