// deploy/k8s renders with the real `kubectl kustomize`: the root, each overlay, and each overlay
// with the optional components; `kubectl apply -k deploy/k8s` is the prod overlay.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allTargets, componentNames, kustomize, overlayNames, requireKubectl } from './support/render.ts';

test('kubectl is on this machine; without it the checks fail and say so', () => {
  assert.doesNotThrow(() => requireKubectl());
  const saved = process.env.KUBECTL;
  process.env.KUBECTL = '/nonexistent/kubectl';
  try {
    assert.throws(() => requireKubectl(), /kubectl is missing.*Install kubectl/s);
  } finally {
    if (saved === undefined) delete process.env.KUBECTL;
    else process.env.KUBECTL = saved;
  }
});

test('the root, every overlay and every overlay with the components render', () => {
  assert.deepEqual(overlayNames(), ['dev', 'prod']);
  assert.deepEqual(componentNames(), ['ingress', 'kernel-tls']);
  const targets = allTargets();
  assert.deepEqual(
    targets.map((t) => t.name),
    ['root', 'dev', 'dev+ingress', 'dev+kernel-tls', 'dev+ingress+kernel-tls', 'prod', 'prod+ingress', 'prod+kernel-tls', 'prod+ingress+kernel-tls'],
  );
  for (const t of targets) {
    assert.ok(t.objects.length >= 20, `${t.name}: ${t.objects.length} objects`);
    const keys = t.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, `${t.name}: duplicate objects`);
    for (const o of t.objects) {
      if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'patchwork', `${t.name}: ${o.kind}/${o.metadata.name} outside the patchwork namespace`);
    }
    const kinds = new Set(t.objects.map((o) => o.kind));
    for (const k of ['Namespace', 'StatefulSet', 'Deployment', 'Service', 'ConfigMap', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceAccount']) assert.ok(kinds.has(k), `${t.name}: no ${k}`);
  }
  assert.ok(targets.find((t) => t.name === 'prod+ingress')!.objects.some((o) => o.kind === 'Ingress'));
});

test('`kubectl apply -k deploy/k8s` applies the prod overlay, and only it', () => {
  const targets = allTargets();
  assert.deepEqual(targets.find((t) => t.name === 'root')!.objects, targets.find((t) => t.name === 'prod')!.objects);
});

test('a kustomization that does not build fails the render with kubectl\'s message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-kustomize-bad-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\n');
    assert.throws(() => kustomize(dir), /kubectl kustomize .* failed:[\s\S]*missing\.yaml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
