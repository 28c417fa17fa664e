// NetworkPolicies open exactly gateway -> NATS, kernel -> NATS, NATS <-> NATS, gateway ->
// kernel, outside -> gateway HTTP and DNS; the evaluator (support/netpol.ts) computes what a
// conforming network plugin would allow and is shown to see an opening and a closing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { object, rendering, reports } from './support/mutate.ts';
import { allowedFlows, matches, networkProblems } from './support/netpol.ts';
import { allTargets, type K8sObject } from './support/render.ts';

test('every rendering allows exactly the designed flows', () => {
  for (const t of allTargets()) assert.deepEqual(networkProblems(t.objects), [], t.name);
  const flows = allowedFlows(rendering('prod')).flows;
  assert.ok(flows.has('patchwork-gateway -> patchwork-kernel:50051/TCP'));
  assert.ok(!flows.has('patchwork-kernel -> patchwork-gateway:4000/TCP'), 'kernel nodes call nobody');
  assert.ok(!flows.has('patchwork-gateway -> internet:443/TCP'), 'no way out');
  assert.ok(!flows.has('stranger -> patchwork-nats:4222/TCP'), 'NATS takes only the apps');
  assert.ok(!flows.has('patchwork-gateway -> patchwork-kernel:9464/TCP'), 'metrics ports stay closed');
});

test('label selectors: matchLabels and every matchExpressions operator', () => {
  const labels = { a: '1', b: '2' };
  assert.ok(matches({ matchLabels: { a: '1' } }, labels));
  assert.ok(!matches({ matchLabels: { a: '2' } }, labels));
  assert.ok(matches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '3'] }] }, labels));
  assert.ok(!matches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels));
  assert.ok(matches({ matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, labels));
  assert.ok(!matches({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }, labels));
  assert.ok(matches({}, labels));
});

test('an extra opening, a missing rule and a port name no pod declares are all caught', () => {
  let o = rendering('prod');
  o.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'oops', namespace: 'patchwork' },
    spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'patchwork-kernel' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] },
  } as K8sObject);
  let p = networkProblems(o);
  assert.ok(reports(p, /allowed but should not be: patchwork-kernel -> internet:443\/TCP/), p.join('\n'));
  assert.ok(reports(p, /allowed but should not be: patchwork-kernel -> patchwork-gateway:4000\/TCP/), p.join('\n'));

  o = rendering('prod');
  (object(o, 'NetworkPolicy', 'patchwork-kernel').spec as { ingress: unknown[] }).ingress = [];
  p = networkProblems(o);
  assert.ok(reports(p, /blocked but needed: patchwork-gateway -> patchwork-kernel:50051\/TCP/), p.join('\n'));

  o = rendering('prod');
  ((object(o, 'NetworkPolicy', 'patchwork-nats').spec as { ingress: { ports: { port: string }[] }[] }).ingress[0].ports[0]).port = 'client';
  p = networkProblems(o);
  assert.ok(reports(p, /port name client is not declared by patchwork-nats/), p.join('\n'));
  assert.ok(reports(p, /blocked but needed: patchwork-gateway -> patchwork-nats:4222\/TCP/), p.join('\n'));
});
