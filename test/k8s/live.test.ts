// The rendered manifests against real parts: the NATS config from the ConfigMap on a real
// nats-server (auth on, credentials from the dev Secret in the container's environment), a real
// kernel node and a real gateway started with the environment their containers get, and every
// probe path and port of every rendering answered by them; then NATS's own preStop command
// puts the server in lame duck mode and it exits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { credentials, makeClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { BlobStore } from '../../src/common/blob-store.ts';
import { connectNats } from '../../src/common/nats.ts';
import { createGateway, loadGatewayConfig } from '../../src/gateway/index.ts';
import { testLogger } from '../support/actors.ts';
import { spawnKernelNode } from '../support/kernel-node.ts';
import { MemoryJobService } from '../support/memory-job-service.ts';
import { natsServerBinary } from '../support/nats-server.ts';
import { startLiveNats, testConf } from './support/live-nats.ts';
import { natsContainers } from './support/drift.ts';
import { allTargets, findObject, type K8sObject } from './support/render.ts';
import { containerEnv, resolveRuntimeEnv, workloads, type Container, type Probe } from './support/workloads.ts';

/** `secret/key` → value, from the Secrets in a rendering (dev's placeholders). */
function secretValues(objects: K8sObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of objects.filter((x) => x.kind === 'Secret')) {
    for (const [k, v] of Object.entries((o.stringData as Record<string, string>) ?? {})) out[`${o.metadata.name}/${k}`] = v;
    for (const [k, v] of Object.entries((o.data as Record<string, string>) ?? {})) out[`${o.metadata.name}/${k}`] = Buffer.from(v, 'base64').toString();
  }
  return out;
}

function firstNats(objects: K8sObject[]) {
  for (const n of natsContainers(objects)) return n;
  throw new Error('no NATS container');
}

function roleContainer(objects: K8sObject[], role: string): Container {
  for (const w of workloads(objects)) for (const c of w.spec.containers) if (c.args?.[0] === role) return c;
  throw new Error(`no ${role} container`);
}

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
  // and nats-server is the judge that can say no:
  const { files } = firstNats(dev);
  assert.match(testConf(files, { SERVER_NAME: 'x', NATS_USER: 'u' }), /NATS_PASSWORD/);
  assert.match(testConf({ ...files, 'cluster.conf': 'cluster { bogus_option: 1 }\n' }, { SERVER_NAME: 'x', NATS_USER: 'u', NATS_PASSWORD: 'p' }), /bogus_option/);
});

test('the dev rendering runs: NATS with auth, a kernel node and a gateway from their containers\' environment; every probe answers', { timeout: 120_000 }, async () => {
  const objects = allTargets().find((t) => t.name === 'dev')!.objects;
  const secrets = secretValues(objects);
  const nats = firstNats(objects);
  const natsEnv = resolveRuntimeEnv(containerEnv(objects, nats.c), nats.c, { name: 'patchwork-nats-0', ip: '127.0.0.1' }, secrets);
  const server = await startLiveNats(nats.files, natsEnv);
  const tmp = mkdtempSync(join(tmpdir(), 'pw-k8s-live-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const savedEnv = { user: process.env.PATCHWORK_NATS_USER, pass: process.env.PATCHWORK_NATS_PASSWORD };
  try {
    // NATS: auth is on; the probe paths of every rendering answer on the monitor port.
    await assert.rejects(connectNats({ servers: server.url, timeoutMs: 3000 }), /Authorization Violation/);
    for (const p of probes((c) => /(^|\/)nats:/.test(c.image ?? ''))) {
      const res = await fetch(`http://127.0.0.1:${server.monitorPort}${p.httpGet!.path}`);
      assert.equal(res.status, 200, `NATS probe ${p.httpGet!.path}`);
    }

    // The kernel node, with its container's environment (the kubelet's values filled in).
    const kc = roleContainer(objects, 'kernel');
    const kernelEnv = resolveRuntimeEnv(containerEnv(objects, kc), kc, { name: 'patchwork-kernel-5d9c7b-x2v4q', ip: '127.0.0.1' }, secrets);
    assert.ok(kernelEnv.PATCHWORK_NATS_USER && kernelEnv.PATCHWORK_NATS_PASSWORD, 'the kernel gets NATS credentials');
    const node = await spawnKernelNode({
      natsUrl: server.url,
      namespace: kernelEnv.PATCHWORK_NAMESPACE,
      id: kernelEnv.PATCHWORK_KERNEL_NODE_ID,
      env: { ...kernelEnv, PATCHWORK_NATS_URL: server.url, TMPDIR: tmp },
    });
    cleanups.push(() => node.kill());
    for (const p of probes((c) => c.args?.[0] === 'kernel')) {
      if (p.httpGet) {
        const res = await fetch(`http://127.0.0.1:${node.metricsPort}${p.httpGet.path}`);
        assert.equal(res.status, 200, `kernel probe ${p.httpGet.path}`);
      } else if (p.grpc) {
        assert.equal(await grpcHealth(node.port, p.grpc.service ?? ''), 'SERVING', `kernel gRPC probe service '${p.grpc.service ?? ''}'`);
      }
    }

    assert.equal((await fetch(`http://127.0.0.1:${node.metricsPort}/ready`)).status, 404, 'a wrong path would fail');

    // The gateway's HTTP server, configured from its container's environment.
    const gc = roleContainer(objects, 'gateway');
    const gatewayEnv = resolveRuntimeEnv(containerEnv(objects, gc), gc, { name: 'patchwork-gateway-6f8d9-abcde', ip: '127.0.0.1' }, secrets);
    const tokens = join(tmp, 'tokens');
    const secretName = findObject(objects, 'Secret', 'patchwork-api-tokens')!;
    writeFileSync(tokens, (secretName.stringData as Record<string, string>).tokens);
    process.env.PATCHWORK_NATS_USER = gatewayEnv.PATCHWORK_NATS_USER;
    process.env.PATCHWORK_NATS_PASSWORD = gatewayEnv.PATCHWORK_NATS_PASSWORD;
    const nc = await connectNats({ servers: server.url, name: 'k8s-live-gateway' });
    cleanups.push(() => nc.close());
    const blobs = await BlobStore.open(nc, { bucket: `${gatewayEnv.PATCHWORK_NAMESPACE}_blobs`, replicas: Number(gatewayEnv.PATCHWORK_JETSTREAM_REPLICAS) });
    const config = loadGatewayConfig({ ...gatewayEnv, PATCHWORK_TOKENS_FILE: tokens }, { port: 0, host: '127.0.0.1', webDir: '/nonexistent' });
    assert.equal(config.tokenMap.size, 1, 'the dev tokens Secret parses');
    const gw = await createGateway({ jobs: new MemoryJobService(), blobs, kernelNodes: async () => [], health: async () => ({ nats: !nc.isClosed(), kernelNodes: 1 }), logger: testLogger() }, config);
    const { url } = await gw.listen();
    cleanups.push(() => gw.stop());
    for (const p of probes((c) => c.args?.[0] === 'gateway')) {
      const res = await fetch(`${url}${p.httpGet!.path}`);
      assert.equal(res.status, 200, `gateway probe ${p.httpGet!.path}`);
    }

    assert.equal((await fetch(`${url}/readyzz`)).status, 404, 'a wrong path would fail');

    // Shutdown as Kubernetes does it: SIGTERM drains the kernel node and it exits 0.
    const exit = await node.kill('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null });
    for (const fn of cleanups.splice(0).reverse()) await fn();

    // NATS's preStop (lame duck mode through the pid file) stops the server.
    const preStop = nats.c.lifecycle!.preStop!.exec!.command.map((a: string) => a.replace(/ldm=.*$/, `ldm=${server.pidFile}`));
    assert.equal(preStop[0], 'nats-server');
    const res = spawnSync(natsServerBinary(), preStop.slice(1), { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([server.exited, new Promise<string>((r) => (timer = setTimeout(() => r('still running'), 20_000)))]);
    clearTimeout(timer);
    assert.notEqual(code, 'still running', 'lame duck mode ends the server');
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    if (savedEnv.user === undefined) delete process.env.PATCHWORK_NATS_USER;
    else process.env.PATCHWORK_NATS_USER = savedEnv.user;
    if (savedEnv.pass === undefined) delete process.env.PATCHWORK_NATS_PASSWORD;
    else process.env.PATCHWORK_NATS_PASSWORD = savedEnv.pass;
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
