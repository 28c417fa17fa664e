import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findImpurity } from '../support/orchestration-purity.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

test('orchestration modules (src/actors/orchestrations) reach no I/O through any import', () => {
  const violations = findImpurity(resolve(root, 'src/actors/orchestrations'), root);
  assert.deepEqual(violations, [], violations.map((v) => `${v.file}: ${v.problem} (via ${v.via.join(' -> ')})`).join('\n'));
});

test('the purity check catches direct and transitive I/O imports and clock/timer globals (fixture)', () => {
  const violations = findImpurity(resolve(root, 'test/fixtures/impure-orchestrations'), root);
  const problems = violations.map((v) => `${v.file}: ${v.problem}`);
  const has = (re: RegExp) => assert.ok(problems.some((p) => re.test(p)), `expected a violation matching ${re}, got:\n${problems.join('\n')}`);
  has(/uses-fs\.ts: imports the Node builtin 'node:fs'/);
  has(/talks-to-nats\.ts: imports the package '@nats-io\/transport-node'/);
  has(/clock\.ts: .*uses global 'setTimeout'/);
  has(/clock\.ts: .*calls Date\.now/);
  has(/clock\.ts: .*calls Math\.random/);
  // the transitive one names the chain from the scanned module
  const nats = violations.find((v) => v.file.endsWith('talks-to-nats.ts'))!;
  assert.ok(nats.via[0].endsWith('indirect.ts'), nats.via.join(' -> '));
});
