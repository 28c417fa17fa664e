// Every rendered object validates against the Kubernetes schemas of kubernetes-models: its model
// class's validate() and, for the unknown fields those validators let through, the model's
// TypeScript interface. The checker is shown to catch each kind of mistake.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allTargets, clone, findObject } from './support/render.ts';
import { schemaProblems } from './support/schema.ts';

test('every object of every rendering is valid Kubernetes', async () => {
  for (const t of allTargets()) assert.deepEqual(await schemaProblems(t.objects), [], t.name);
});

test('the validation catches unknown fields at any depth, wrong types and unknown kinds', async () => {
  const prod = allTargets().find((t) => t.name === 'prod')!.objects;
  const deployment = clone(findObject(prod, 'Deployment', 'patchwork-gateway')!) as never as {
    spec: { replicas?: unknown; template: { spec: { containers: Record<string, unknown>[]; bogus?: number } } };
    extraTop?: boolean;
  };
  const container = deployment.spec.template.spec.containers[0];
  container.readinesProbe = { httpGet: { path: '/readyz', port: 'http' } }; // a typo of readinessProbe
  (container.env as Record<string, unknown>[]).push({ name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.name', oops: 1 } } });
  deployment.spec.template.spec.bogus = 1;
  deployment.extraTop = true;
  deployment.spec.replicas = 'two';
  const service = clone(findObject(prod, 'Service', 'patchwork-gateway')!) as never as { spec: { ports: { port: unknown }[] } };
  service.spec.ports[0].port = 'eighty';
  const problems = await schemaProblems([deployment, service, { apiVersion: 'v1', kind: 'Gadget', metadata: { name: 'g' } }] as never);
  const expect = [
    /Deployment\/patchwork-gateway: .*containers\[0\]\.readinesProbe: unknown field/,
    /Deployment\/patchwork-gateway: .*env\[\d+\]\.valueFrom\.fieldRef\.oops: unknown field/,
    /Deployment\/patchwork-gateway: spec\.template\.spec\.bogus: unknown field/,
    /Deployment\/patchwork-gateway: extraTop: unknown field/,
    /Deployment\/patchwork-gateway: .*replicas must be integer/,
    /Service\/patchwork-gateway: .*port must be integer/,
    /Gadget\/g: no Kubernetes schema for v1 Gadget/,
  ];
  for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `not reported: ${re}\n${problems.join('\n')}`);
  assert.equal(problems.length, expect.length, problems.join('\n'));
});
