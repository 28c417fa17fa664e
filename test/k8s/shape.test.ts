// What each overlay runs (dev: one of each; prod: three NATS at R3, 2+ gateways, 3+ kernel
// nodes), the standard labels and release version, the Ingress against the gateway's limits,
// and the Secrets the pods read: present with their keys, or documented in the README.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { configData, container, object, rendering, reports } from './support/mutate.ts';
import { allTargets, repoRoot } from './support/render.ts';
import { ingressProblems, labelProblems, natsPasswordProblems, secretProblems, shapeOf, shapeProblems } from './support/shape.ts';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

test('dev runs one of each; prod and the root run the production shape', () => {
  for (const t of allTargets()) assert.deepEqual(shapeProblems(t.overlay, t.objects), [], t.name);
  assert.deepEqual(shapeOf(rendering('dev')), { natsReplicas: 1, jetstreamReplicas: 1, gatewayMin: 1, gatewayMax: 1, kernelMin: 1, kernelMax: 1, autoscaled: { gateway: false, kernel: false } });
  const prod = shapeOf(rendering('prod'));
  assert.equal(prod.natsReplicas, 3);
  assert.equal(prod.jetstreamReplicas, 3);
  assert.ok(prod.gatewayMin >= 2 && prod.kernelMin >= 3, JSON.stringify(prod));
});

test('labels, the release version and Secrets agree everywhere', () => {
  for (const t of allTargets()) {
    assert.deepEqual(labelProblems(t.objects), [], `${t.name}: labels`);
    assert.deepEqual(ingressProblems(t.objects), [], `${t.name}: ingress`);
    assert.deepEqual(secretProblems(t.objects, readme), [], `${t.name}: secrets`);
    assert.deepEqual(natsPasswordProblems(t.objects), [], `${t.name}: NATS password`);
  }
});

test('shape drift is caught: fewer servers or replicas than promised, a replica count an autoscaler owns', () => {
  let o = rendering('prod');
  (object(o, 'StatefulSet', 'patchwork-nats').spec as { replicas: number }).replicas = 1;
  configData(o, 'patchwork-config').PATCHWORK_JETSTREAM_REPLICAS = '1';
  (object(o, 'HorizontalPodAutoscaler', 'patchwork-kernel').spec as { minReplicas: number }).minReplicas = 2;
  let p = shapeProblems('prod', o);
  assert.ok(reports(p, /prod: three NATS servers/), p.join('\n'));
  assert.ok(reports(p, /prod: streams and buckets at three replicas/), p.join('\n'));
  assert.ok(reports(p, /prod: three or more kernel nodes, autoscaled/), p.join('\n'));

  o = rendering('prod');
  (object(o, 'Deployment', 'patchwork-gateway').spec as { replicas: number }).replicas = 2;
  p = shapeProblems('prod', o);
  assert.ok(reports(p, /Deployment\/patchwork-gateway sets replicas although an autoscaler owns them/), p.join('\n'));

  o = rendering('dev');
  (object(o, 'Deployment', 'patchwork-kernel').spec as { replicas: number }).replicas = 2;
  p = shapeProblems('dev', o);
  assert.ok(reports(p, /dev: exactly one kernel node/), p.join('\n'));
});

test('label drift is caught: a missing standard label, another version, a selector off its template, an image of another release', () => {
  const o = rendering('prod');
  delete object(o, 'Service', 'patchwork-kernel').metadata.labels!['app.kubernetes.io/component'];
  object(o, 'PodDisruptionBudget', 'patchwork-nats').metadata.labels!['app.kubernetes.io/version'] = '0.0.9';
  (object(o, 'Deployment', 'patchwork-kernel').spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels['app.kubernetes.io/name'] = 'kernel';
  container(o, 'patchwork-gateway').image = 'registry.example.com/patchwork:0.0.9';
  const p = labelProblems(o);
  assert.ok(reports(p, /Service\/patchwork-kernel: no label app.kubernetes.io\/component/), p.join('\n'));
  assert.ok(reports(p, /PodDisruptionBudget\/patchwork-nats: app.kubernetes.io\/version 0.0.9, package.json says/), p.join('\n'));
  assert.ok(reports(p, /Deployment\/patchwork-kernel: selector app.kubernetes.io\/name=kernel does not match its pod template/), p.join('\n'));
  assert.ok(reports(p, /Deployment\/patchwork-gateway: image registry.example.com\/patchwork:0.0.9 is not the release/), p.join('\n'));
});

test('Ingress drift is caught: short timeouts for WebSockets, a body limit below the upload limit, another public host', () => {
  const o = rendering('prod+ingress');
  const ing = object(o, 'Ingress', 'patchwork-gateway');
  ing.metadata.annotations!['nginx.ingress.kubernetes.io/proxy-read-timeout'] = '60';
  ing.metadata.annotations!['nginx.ingress.kubernetes.io/proxy-body-size'] = '10m';
  configData(o, 'patchwork-gateway-config').PATCHWORK_PUBLIC_URL = 'https://fill.example.org';
  const p = ingressProblems(o);
  assert.ok(reports(p, /proxy-read-timeout 60 closes idle WebSocket subscriptions/), p.join('\n'));
  assert.ok(reports(p, /proxy-body-size 10m refuses uploads the gateway accepts \(26214400 bytes\)/), p.join('\n'));
  assert.ok(reports(p, /PATCHWORK_PUBLIC_URL https:\/\/fill.example.org is not one of its hosts/), p.join('\n'));
});

test('Secret drift is caught: a key the pods read but the Secret lacks, a Secret the README does not explain, a NATS password the config parser would misread', () => {
  let o = rendering('dev');
  const secret = object(o, 'Secret', 'patchwork-nats-auth') as unknown as { stringData: Record<string, string> };
  secret.stringData = { username: 'patchwork', password: '12345678' };
  let p = secretProblems(o, readme);
  assert.ok(reports(p, /Secret\/patchwork-nats-auth: no key user, which the pods read/), p.join('\n'));
  p = natsPasswordProblems(o);
  assert.ok(reports(p, /Secret\/patchwork-nats-auth: password must start with a letter/), p.join('\n'));

  o = rendering('prod');
  p = secretProblems(o, readme.replace(/patchwork-api-tokens/g, 'api-tokens'));
  assert.ok(reports(p, /Secret\/patchwork-api-tokens: not in the manifests and the README does not say how to create it/), p.join('\n'));
  p = secretProblems(o, readme.replace(/--from-literal=password=/g, '--from-literal=pass='));
  assert.ok(reports(p, /Secret\/patchwork-nats-auth: the README's kubectl create secret does not set key password/), p.join('\n'));
});
