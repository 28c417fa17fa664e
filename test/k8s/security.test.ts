// Every pod meets the "restricted" Pod Security Standard the namespace enforces, with a
// read-only root filesystem (and a writable temp dir for tsx's cache), resources on every
// container, no API token, the image's own user, and kernel workers tied to the CPU limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readDockerfile } from './support/code-tables.ts';
import { container, object, podSpec, rendering, reports } from './support/mutate.ts';
import { allTargets } from './support/render.ts';
import { securityProblems } from './support/security.ts';

const dockerfile = readDockerfile();

test('every pod of every rendering is locked down', () => {
  for (const t of allTargets()) assert.deepEqual(securityProblems(t.objects, dockerfile), [], t.name);
});

test('each weakening is caught', () => {
  const o = rendering('prod');
  const gw = container(o, 'patchwork-gateway');
  (gw.securityContext as Record<string, unknown>).readOnlyRootFilesystem = false;
  (gw.securityContext as { capabilities: { drop: string[]; add?: string[] } }).capabilities = { drop: [], add: ['NET_ADMIN'] };
  delete gw.resources!.limits!.memory;
  const kernel = container(o, 'patchwork-kernel');
  (kernel.securityContext as Record<string, unknown>).allowPrivilegeEscalation = true;
  kernel.volumeMounts = kernel.volumeMounts!.filter((m) => m.mountPath !== '/tmp');
  kernel.env = kernel.env!.map((e) => (e.name === 'PATCHWORK_KERNEL_WORKERS' ? { name: e.name, value: '8' } : e));
  const natsPod = podSpec(o, 'patchwork-nats');
  (natsPod.securityContext as Record<string, unknown>).runAsNonRoot = false;
  delete (natsPod.securityContext as Record<string, unknown>).seccompProfile;
  natsPod.automountServiceAccountToken = true;
  natsPod.volumes!.push({ name: 'host', hostPath: { path: '/var/lib' } });
  (podSpec(o, 'patchwork-kernel').securityContext as Record<string, unknown>).runAsUser = 1000;
  object(o, 'Namespace', 'patchwork').metadata.labels!['pod-security.kubernetes.io/enforce'] = 'baseline';
  const p = securityProblems(o, dockerfile);
  const expect = [
    /patchwork-gateway container gateway: the root filesystem is writable/,
    /patchwork-gateway container gateway: capabilities are not all dropped/,
    /patchwork-gateway container gateway: adds capabilities NET_ADMIN/,
    /patchwork-gateway container gateway: no memory limits/,
    /patchwork-kernel container kernel: allowPrivilegeEscalation is not false/,
    /patchwork-kernel container kernel: the temp dir \/tmp \(tsx's cache\) is not a writable emptyDir/,
    /patchwork-kernel container kernel: PATCHWORK_KERNEL_WORKERS is not tied to the CPU limit \(8 workers, limit 2\)/,
    /patchwork-kernel container kernel: runs as uid 1000, the image's user is 10001:10001/,
    /patchwork-nats container nats: runAsNonRoot is not true/,
    /patchwork-nats container nats: seccomp profile unset/,
    /StatefulSet\/patchwork-nats: mounts a Kubernetes API token/,
    /StatefulSet\/patchwork-nats: volume host of type hostPath is not allowed/,
    /Namespace\/patchwork: does not enforce the restricted Pod Security Standard/,
  ];
  for (const re of expect) assert.ok(reports(p, re), `not reported: ${re}\n${p.join('\n')}`);
  assert.equal(p.length, expect.length, p.join('\n'));
});
