// components/kernel-tls works as the README says: its openssl commands make the certificates,
// its `kubectl create secret` lines say which file becomes which Secret key, and with those
// files mounted where the component mounts them, a kernel node serves mutual TLS, its HTTP
// readiness probe answers, and a gateway configured by the component's settings runs a job on it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allTargets, repoRoot } from './support/render.ts';
import { firstToken, roleContainer, runJob, secretValues, startRendering } from './support/stack.ts';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The README's shell block that makes the kernel TLS Secrets. */
function tlsBlock(): string {
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('patchwork-kernel-tls'));
  assert.ok(block, 'the README shows how to make the kernel TLS Secrets');
  return block;
}

test('the README\'s certificates, mounted as components/kernel-tls mounts them, carry a job over mutual TLS', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-k8s-tls-'));
  try {
    const block = tlsBlock();
    const openssl = block.split('\n').filter((l) => l.startsWith('openssl ') || l.startsWith('printf '));
    assert.ok(openssl.length >= 5, block);
    execFileSync('bash', ['-euc', openssl.join('\n')], { cwd: dir, stdio: 'pipe' });
    // secret/key -> file, from the README's kubectl lines.
    const files: Record<string, string> = {};
    for (const line of block.split('\n').filter((l) => /kubectl .*create secret generic/.test(l))) {
      const name = /create secret generic (\S+)/.exec(line)![1];
      for (const m of line.matchAll(/--from-file=([^=\s]+)=(\S+)/g)) files[`${name}/${m[1]}`] = join(dir, m[2]);
    }
    assert.deepEqual(Object.keys(files).sort(), ['patchwork-kernel-client-tls/ca.crt', 'patchwork-kernel-client-tls/tls.crt', 'patchwork-kernel-client-tls/tls.key', 'patchwork-kernel-tls/ca.crt', 'patchwork-kernel-tls/tls.crt', 'patchwork-kernel-tls/tls.key']);

    const objects = allTargets().find((t) => t.name === 'dev+kernel-tls')!.objects;
    assert.ok(!roleContainer(objects, 'kernel').c.readinessProbe?.grpc, 'TLS nodes are probed over HTTP');
    const stack = await startRendering(objects, files);
    try {
      assert.ok(stack.env.kernel.PATCHWORK_KERNEL_TLS_CERT.startsWith(stack.dir), 'the node reads the mounted certificate');
      assert.ok(stack.node.log.some((l) => l.includes('"tls":true') && l.includes('"mtls":true')), stack.node.log.join('\n'));
      const probe = roleContainer(objects, 'kernel').c.readinessProbe!.httpGet!;
      assert.equal((await fetch(`http://127.0.0.1:${stack.node.metricsPort}${probe.path}`)).status, 200);
      const job = await runJob(stack.gateway.url, firstToken(secretValues(objects)['patchwork-api-tokens/tokens']));
      assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
    } finally {
      await stack.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
