// The kernel's settings: flags over environment over defaults, clear errors naming the setting,
// and one table that the CLI, the docs and the deployment manifests all read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_SETTINGS, KERNEL_ENV_VARS, NODE_SETTINGS, clientConfig, nodeConfig } from '../../src/kernel/cluster/config.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

test('defaults, environment and flags, in that order of strength', () => {
  const d = nodeConfig({}, {});
  assert.equal(d.port, 50051);
  assert.equal(d.metricsPort, 9464);
  assert.equal(d.hints, true);
  assert.equal(d.maxCalls, 4 * d.workers);
  const e = nodeConfig({}, { PATCHWORK_KERNEL_PORT: '6000', PATCHWORK_KERNEL_WORKERS: '3', PATCHWORK_KERNEL_HINTS: 'off', PATCHWORK_KERNEL_NODE_ID: 'k-1' });
  assert.equal(e.port, 6000);
  assert.equal(e.workers, 3);
  assert.equal(e.maxCalls, 12);
  assert.equal(e.hints, false);
  assert.equal(e.nodeId, 'k-1');
  const f = nodeConfig({ port: 7000, maxCalls: 2 }, { PATCHWORK_KERNEL_PORT: '6000' });
  assert.equal(f.port, 7000);
  assert.equal(f.maxCalls, 2);
});

test('bad settings name the variable and the flag', () => {
  assert.throws(() => nodeConfig({}, { PATCHWORK_KERNEL_PORT: 'eighty' }), /PATCHWORK_KERNEL_PORT \(--port\) must be an integer/);
  assert.throws(() => nodeConfig({ workers: 0 }, {}), /PATCHWORK_KERNEL_WORKERS \(--workers\)/);
  assert.throws(() => nodeConfig({}, { PATCHWORK_KERNEL_TLS_CERT: '/x.pem' }), /needs both/);
  assert.throws(() => nodeConfig({}, { PATCHWORK_KERNEL_TLS_CLIENT_CA: '/ca.pem' }), /mutual TLS/);
  assert.throws(() => nodeConfig({ nodeId: 'has space' }, {}), /PATCHWORK_KERNEL_NODE_ID/);
  assert.throws(() => clientConfig({}, { PATCHWORK_KERNEL_CLIENT_TLS_CERT: '/c.pem', PATCHWORK_KERNEL_CLIENT_TLS_KEY: '/k.pem' }), /CA/);
});

test('the settings table is consistent: unique names, PATCHWORK_ prefix, a flag for every node setting', () => {
  assert.equal(new Set(KERNEL_ENV_VARS).size, KERNEL_ENV_VARS.length);
  for (const v of KERNEL_ENV_VARS) assert.match(v, /^PATCHWORK_[A-Z0-9_]+$/);
  assert.equal(new Set(NODE_SETTINGS.map((s) => s.flag)).size, NODE_SETTINGS.length);
  assert.ok(CLIENT_SETTINGS.every((s) => s.env.startsWith('PATCHWORK_KERNEL_CLIENT_')));
});

test('docs/architecture.md lists every kernel environment variable', () => {
  const doc = readFileSync(resolve(root, 'docs/architecture.md'), 'utf8');
  for (const v of KERNEL_ENV_VARS) assert.ok(doc.includes(v), `docs/architecture.md does not mention ${v}`);
});
