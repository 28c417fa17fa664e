// Runs what a rendering deploys, on this machine: NATS from its ConfigMap, a kernel node and a
// gateway (`patchwork kernel`, `patchwork gateway` processes) with their containers' environment
// as the kubelet would assemble it, Secrets taken from the rendering (dev's placeholders) or
// given as files, paths under the pods' mounts moved into a temp dir. Then a job through it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gql, png, upload } from '../../support/gateway-client.ts';
import { spawnGateway, waitReady, type GatewayProcess } from '../../support/gateway-stack.ts';
import { discMask, texturedImage } from '../../support/images.ts';
import { spawnKernelNode, type KernelNodeProcess } from '../../support/kernel-node.ts';
import { natsContainers } from './drift.ts';
import { startLiveNats, type LiveNats } from './live-nats.ts';
import type { K8sObject } from './render.ts';
import { containerEnv, resolveRuntimeEnv, workloads, type Container, type Workload } from './workloads.ts';

/** `secret/key` → value, from the Secrets in a rendering. */
export function secretValues(objects: K8sObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of objects.filter((x) => x.kind === 'Secret')) {
    for (const [k, v] of Object.entries((o.stringData as Record<string, string>) ?? {})) out[`${o.metadata.name}/${k}`] = v;
    for (const [k, v] of Object.entries((o.data as Record<string, string>) ?? {})) out[`${o.metadata.name}/${k}`] = Buffer.from(v, 'base64').toString();
  }
  return out;
}

export function roleContainer(objects: K8sObject[], role: string): { w: Workload; c: Container } {
  for (const w of workloads(objects)) for (const c of w.spec.containers) if (c.args?.[0] === role) return { w, c };
  throw new Error(`no ${role} container`);
}

export function firstNats(objects: K8sObject[]) {
  for (const n of natsContainers(objects)) return n;
  throw new Error('no NATS container');
}

export interface LocalStack {
  nats: LiveNats;
  node: KernelNodeProcess;
  gateway: GatewayProcess;
  dir: string;
  env: { kernel: Record<string, string>; gateway: Record<string, string> };
  close(): Promise<void>;
}

/**
 * Files of Secret volumes: `secretFiles['patchwork-kernel-tls/tls.crt']` = a local file; the
 * rendering's own Secrets are written out. Each mounted Secret volume becomes a directory of the
 * temp dir, and env values under its mount path point there.
 */
function mountSecrets(objects: K8sObject[], w: Workload, c: Container, env: Record<string, string>, dir: string, secretFiles: Record<string, string>): Record<string, string> {
  const values = secretValues(objects);
  const out = { ...env };
  for (const m of c.volumeMounts ?? []) {
    const vol = (w.spec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol?.secret) continue;
    const local = join(dir, `${w.name}-${m.name}`);
    mkdirSync(local, { recursive: true });
    for (const [ref, value] of Object.entries(values)) if (ref.startsWith(`${vol.secret.secretName}/`)) writeFileSync(join(local, ref.slice(vol.secret.secretName.length + 1)), value);
    for (const [ref, file] of Object.entries(secretFiles)) if (ref.startsWith(`${vol.secret.secretName}/`)) copyFileSync(file, join(local, ref.slice(vol.secret.secretName.length + 1)));
    const prefix = m.mountPath.replace(/\/?$/, '/');
    for (const [k, v] of Object.entries(out)) if (v.startsWith(prefix)) out[k] = join(local, v.slice(prefix.length));
  }
  return out;
}

export async function startRendering(objects: K8sObject[], secretFiles: Record<string, string> = {}, extraSecrets: Record<string, string> = {}): Promise<LocalStack> {
  const secrets = { ...secretValues(objects), ...extraSecrets };
  const dir = mkdtempSync(join(tmpdir(), 'pw-k8s-stack-'));
  const natsC = firstNats(objects);
  const natsEnv = resolveRuntimeEnv(containerEnv(objects, natsC.c), natsC.c, { name: `${natsC.w.name}-0`, ip: '127.0.0.1' }, secrets);
  const nats = await startLiveNats(natsC.files, natsEnv);
  let node: KernelNodeProcess | undefined;
  try {
    const k = roleContainer(objects, 'kernel');
    const kernelEnv = mountSecrets(objects, k.w, k.c, resolveRuntimeEnv(containerEnv(objects, k.c), k.c, { name: `${k.w.name}-5d9c7b-x2v4q`, ip: '127.0.0.1' }, secrets), dir, secretFiles);
    node = await spawnKernelNode({ natsUrl: nats.url, namespace: kernelEnv.PATCHWORK_NAMESPACE, id: kernelEnv.PATCHWORK_KERNEL_NODE_ID, env: { ...kernelEnv, PATCHWORK_NATS_URL: nats.url, TMPDIR: dir } });
    const g = roleContainer(objects, 'gateway');
    const gatewayEnv = mountSecrets(objects, g.w, g.c, resolveRuntimeEnv(containerEnv(objects, g.c), g.c, { name: `${g.w.name}-6f8d9-abcde`, ip: '127.0.0.1' }, secrets), dir, secretFiles);
    const gateway = await spawnGateway(nats.url, gatewayEnv.PATCHWORK_NAMESPACE, { ...gatewayEnv, PATCHWORK_NATS_URL: nats.url, TMPDIR: dir });
    await waitReady(gateway.url);
    const n = node;
    return {
      nats,
      node: n,
      gateway,
      dir,
      env: { kernel: kernelEnv, gateway: gatewayEnv },
      async close() {
        await gateway.kill('SIGKILL');
        await n.kill('SIGKILL');
        await nats.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await node?.kill('SIGKILL');
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The first token of a tokens file (`token=tenant` lines). */
export function firstToken(tokensFile: string): string {
  const line = tokensFile.split('\n').find((l) => l.trim() && !l.trim().startsWith('#'));
  return line!.split('=')[0].trim();
}

/** Uploads a small photo and mask, creates a job and waits for its end; returns its status. */
export async function runJob(url: string, token: string, timeoutMs = 90_000): Promise<{ status: string; error: unknown }> {
  const image = texturedImage(48, 36, 3);
  const mask = discMask(48, 36, 24, 18, 5);
  const i = await upload(url, await png(image), token);
  const m = await upload(url, await png(mask), token);
  assert.equal(i.status, 201, JSON.stringify(i.body));
  assert.equal(m.status, 201, JSON.stringify(m.body));
  const created = await gql<{ createInpaintJob: { id: string } }>(url, 'mutation($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { id } }', { input: { imageId: i.body.id, maskId: m.body.id, options: { seed: 3, maxIterations: 2 } } }, token);
  assert.deepEqual(created.errors ?? [], []);
  const id = created.data!.createInpaintJob.id;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await gql<{ job: { status: string; error: unknown } }>(url, 'query($id: ID!) { job(id: $id) { status error { code message } } }', { id }, token);
    const job = r.data?.job;
    if (job && ['COMPLETED', 'FAILED', 'CANCELED'].includes(job.status)) return job;
    if (Date.now() > end) return job ?? { status: 'UNKNOWN', error: r.errors };
    await new Promise((res) => setTimeout(res, 200));
  }
}

