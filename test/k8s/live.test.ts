// The rendered manifests against real parts: the NATS config from the ConfigMap on a real
// nats-server (auth on, credentials from the dev Secret in the container's environment), real
// `patchwork kernel` and `patchwork gateway` processes started with the environment their
// containers get; every probe of every rendering answered by them, a job run through them, then
// the shutdown Kubernetes does: SIGTERM to the apps, NATS's own preStop (lame duck mode).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { credentials, makeClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { connectNats } from '../../src/common/nats.ts';
import { natsServerBinary } from '../support/nats-server.ts';
import { natsContainers } from './support/drift.ts';
import { testConf } from './support/live-nats.ts';
import { allTargets } from './support/render.ts';
import { firstNats, firstToken, runJob, secretValues, startRendering } from './support/stack.ts';
import { containerEnv, resolveRuntimeEnv, workloads, type Container, type Probe } from './support/workloads.ts';

/** Every probe of every rendering's containers of one kind, deduplicated. */
function probes(pick: (c: Container) => boolean): Probe[] {
  const seen = new Map<string, Probe>();
  for (const t of allTargets()) {
    for (const w of workloads(t.objects)) {
      for (const c of w.spec.containers) {
        if (!pick(c)) continue;
        for (const p of [c.startupProbe, c.readinessProbe, c.livenessProbe]) if (p) seen.set(JSON.stringify(p.httpGet ?? p.grpc ?? p), p);
      }
    }
  }
  return [...seen.values()];
}

function grpcHealth(port: number, service: string): Promise<string> {
  const Health = makeClientConstructor(healthService, 'Health');
  const client = new Health(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
    check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
    close(): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

test('every rendering\'s NATS config is valid to nats-server, with the variables its container sets', () => {
  const dev = allTargets().find((t) => t.name === 'dev')!.objects;
  const secrets = secretValues(dev);
  for (const t of allTargets()) {
    for (const { c, files } of natsContainers(t.objects)) {
      const env = resolveRuntimeEnv(containerEnv(t.objects, c), c, { name: 'patchwork-nats-0', ip: '10.1.2.3' }, secrets);
      assert.equal(testConf(files, env), '', `${t.name}: nats-server -t`);
    }
  }
  // and nats-server is a judge that can say no:
  const { files } = firstNats(dev);
  assert.match(testConf(files, { SERVER_NAME: 'x', NATS_USER: 'u' }), /NATS_PASSWORD/);
  assert.match(testConf({ ...files, 'cluster.conf': 'cluster { bogus_option: 1 }\n' }, { SERVER_NAME: 'x', NATS_USER: 'u', NATS_PASSWORD: 'p' }), /bogus_option/);
});

test('the dev rendering runs here: probes answer, a job completes, the processes stop as Kubernetes stops them', { timeout: 180_000 }, async () => {
  const objects = allTargets().find((t) => t.name === 'dev')!.objects;
  const stack = await startRendering(objects);
  try {
    // NATS: auth is on (the apps got in with the Secret's credentials); every NATS probe answers.
    await assert.rejects(connectNats({ servers: stack.nats.url, timeoutMs: 3000 }), /Authorization Violation/);
    for (const p of probes((c) => /(^|\/)nats:/.test(c.image ?? ''))) {
      const res = await fetch(`http://127.0.0.1:${stack.nats.monitorPort}${p.httpGet!.path}`);
      assert.equal(res.status, 200, `NATS probe ${p.httpGet!.path}`);
    }
    // Kernel node: HTTP and gRPC probes of every rendering.
    for (const p of probes((c) => c.args?.[0] === 'kernel')) {
      if (p.httpGet) assert.equal((await fetch(`http://127.0.0.1:${stack.node.metricsPort}${p.httpGet.path}`)).status, 200, `kernel probe ${p.httpGet.path}`);
      else assert.equal(await grpcHealth(stack.node.port, p.grpc!.service ?? ''), 'SERVING', `kernel gRPC probe '${p.grpc!.service ?? ''}'`);
    }
    assert.equal((await fetch(`http://127.0.0.1:${stack.node.metricsPort}/ready`)).status, 404, 'a wrong path would fail');
    // Gateway: its probes, then a job with a token from the tokens Secret.
    for (const p of probes((c) => c.args?.[0] === 'gateway')) assert.equal((await fetch(`${stack.gateway.url}${p.httpGet!.path}`)).status, 200, `gateway probe ${p.httpGet!.path}`);
    assert.equal((await fetch(`${stack.gateway.url}/readyzz`)).status, 404, 'a wrong path would fail');
    const token = firstToken(secretValues(objects)['patchwork-api-tokens/tokens']);
    const job = await runJob(stack.gateway.url, token);
    assert.equal(job.status, 'COMPLETED', JSON.stringify(job));

    // SIGTERM, as the kubelet sends it: both drain and exit 0 well within their grace periods.
    const started = Date.now();
    assert.deepEqual(await stack.gateway.kill('SIGTERM'), { code: 0, signal: null }, stack.gateway.log.join('\n'));
    assert.deepEqual(await stack.node.kill('SIGTERM'), { code: 0, signal: null });
    assert.ok(Date.now() - started < 45_000);

    // NATS's preStop (lame duck mode through its pid file) ends the server.
    const preStop = firstNats(objects).c.lifecycle!.preStop!.exec!.command.map((a: string) => a.replace(/ldm=.*$/, `ldm=${stack.nats.pidFile}`));
    assert.equal(preStop[0], 'nats-server');
    const res = spawnSync(natsServerBinary(), preStop.slice(1), { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([stack.nats.exited, new Promise<string>((r) => (timer = setTimeout(() => r('still running'), 20_000)))]);
    clearTimeout(timer);
    assert.notEqual(code, 'still running', 'lame duck mode ends the server');
  } finally {
    await stack.close();
  }
});
