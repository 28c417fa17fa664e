// Gateway settings, tokens, rate limiter and query limits: the small pure parts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { createAuthenticator } from '../../src/gateway/auth.ts';
import { GATEWAY_SETTINGS, loadGatewayConfig } from '../../src/gateway/config.ts';
import { measureOperation } from '../../src/gateway/limits/query-limits.ts';
import { createRateLimiter } from '../../src/gateway/limits/rate-limiter.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

test('defaults, env vars and overrides', () => {
  const d = loadGatewayConfig({});
  assert.equal(d.port, 4000);
  assert.equal(d.maxUploadBytes, 25 * 1024 * 1024);
  assert.equal(d.maxImagePixels, 40_000_000);
  assert.equal(d.graphiql, true);
  assert.equal(d.tokenMap.size, 0);
  const e = loadGatewayConfig({ PATCHWORK_PORT: '5000', NODE_ENV: 'production', PATCHWORK_TOKENS: 'abcdefgh1=alice, abcdefgh2=bob' }, { port: 6000 });
  assert.equal(e.port, 6000);
  assert.equal(e.production, true);
  assert.equal(e.graphiql, false);
  assert.deepEqual([...e.tokenMap], [['abcdefgh1', 'alice'], ['abcdefgh2', 'bob']]);
});

test('bad settings name the variable', () => {
  assert.throws(() => loadGatewayConfig({ PATCHWORK_PORT: 'eighty' }), /PATCHWORK_PORT/);
  assert.throws(() => loadGatewayConfig({ PATCHWORK_MAX_UPLOAD_BYTES: '-1' }), /PATCHWORK_MAX_UPLOAD_BYTES/);
  assert.throws(() => loadGatewayConfig({ PATCHWORK_TOKENS: 'short=alice' }), /shorter than 8/);
  assert.throws(() => loadGatewayConfig({ PATCHWORK_TOKENS: 'abcdefghij' }), /token=tenant/);
  assert.throws(() => loadGatewayConfig({ PATCHWORK_TOKENS_FILE: '/nonexistent/tokens' }), /cannot read/);
});

test('tokens file merges with PATCHWORK_TOKENS; tokens map to tenants, anything else is null', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-tokens-'));
  try {
    writeFileSync(join(dir, 'tokens'), '# team tokens\nfile-token-1=carol\n\n');
    const c = loadGatewayConfig({ PATCHWORK_TOKENS: 'env-token-1=alice', PATCHWORK_TOKENS_FILE: join(dir, 'tokens') });
    const auth = createAuthenticator(c.tokenMap);
    assert.equal(auth.open, false);
    assert.equal(auth.tenantOf('Bearer env-token-1'), 'alice');
    assert.equal(auth.tenantOf('bearer file-token-1'), 'carol');
    assert.equal(auth.tenantOf('Bearer env-token-2'), null);
    assert.equal(auth.tenantOf(''), null);
    assert.equal(auth.tenantOf(undefined), null);
    assert.equal(auth.tenantOf(42), null);
    assert.equal(createAuthenticator(new Map()).tenantOf(undefined), 'local');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every setting is documented in the README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const s of GATEWAY_SETTINGS) assert.ok(readme.includes(`\`${s.env}\``), `${s.env} missing from README`);
});

test('rate limiter: burst, then the sustained rate, per tenant', () => {
  let now = 0;
  const rl = createRateLimiter(2, 3, () => now);
  assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a')], [true, true, true, false]);
  assert.equal(rl.take('b'), true);
  assert.equal(rl.retryAfterSeconds('a'), 1);
  now = 500;
  assert.equal(rl.take('a'), true);
  assert.equal(rl.take('a'), false);
});

function measure(query: string) {
  const doc = parse(query);
  const frags = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) frags.set(d.name.value, d);
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  return measureOperation(op, frags, undefined);
}

test('query depth and cost', () => {
  assert.deepEqual(measure('{ kernelNodes { id } }'), { depth: 2, cost: 7 });
  assert.equal(measure('{ jobs(first: 10) { nodes { id status } } }').cost, 1 + 10 * 3);
  // A variable page size counts as the largest page.
  assert.equal(measure('query($n: Int) { jobs(first: $n) { nodes { id } } }').cost, 1 + 100 * 2);
  assert.equal(measure('{ job(id: "x") { history(first: 100) { nodes { seq } } } }').cost, 1 + 1 + 10 + 100 * 2);
  assert.equal(measure('fragment F on InpaintJob { id image { id } } { job(id: "x") { ...F } }').depth, 3);
  // A fragment cycle (refused by graphql's own rule) does not hang the measurement.
  assert.ok(measure('fragment A on InpaintJob { ...B } fragment B on InpaintJob { ...A } { job(id: "x") { ...A } }').depth >= 1);
});
