// A real job cluster for a test: nats-server, N `patchwork kernel` processes, and job runtimes
// (host + job service) in this process or in child processes, all under one unique namespace;
// helpers to upload images and to compute what `patchwork local` makes of them.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { pino } from 'pino';
import { BlobStore, blobIdOf } from '../../src/common/blob-store.ts';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import { createJobRuntime, type ImageRef, type JobRuntime, type JobRuntimeOptions, type JobService, type JobView } from '../../src/actors/index.ts';
import { decodeImage, encodeImage, inpaint, type InpaintInput } from '../../src/kernel/index.ts';
import { startNatsServer, type NatsServer } from './nats-server.ts';
import { spawnKernelNode, type KernelNodeProcess } from './kernel-node.ts';
import { uniqueNamespace } from './actors.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

export interface JobTestCluster {
  nats: NatsServer;
  namespace: string;
  nodes: KernelNodeProcess[];
  nc: NatsConnection;
  store: BlobStore;
  /** A job runtime in this process (closed by `close`). */
  runtime(opts?: Partial<JobRuntimeOptions>): Promise<JobRuntime>;
  spawnNode(id: string): Promise<KernelNodeProcess>;
  /** Stores the bytes and records them as the tenant's upload. */
  upload(jobs: JobService, tenant: string, bytes: Uint8Array): Promise<ImageRef>;
  close(): Promise<void>;
}

export async function startJobCluster(opts: { nodes?: number; workers?: number } = {}): Promise<JobTestCluster> {
  const namespace = uniqueNamespace('job');
  const nats = await startNatsServer();
  const nodes: KernelNodeProcess[] = [];
  const runtimes: JobRuntime[] = [];
  let nc: NatsConnection | undefined;
  const close = async (): Promise<void> => {
    for (const r of runtimes) r.host.halt();
    await Promise.all(runtimes.map((r) => r.close({ drainMs: 0 }).catch(() => undefined)));
    await nc?.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await nats.dispose();
  };
  try {
    const spawnNode = async (id: string): Promise<KernelNodeProcess> => {
      const node = await spawnKernelNode({ natsUrl: nats.url, namespace, id, workers: opts.workers ?? 1 });
      nodes.push(node);
      return node;
    };
    await Promise.all(Array.from({ length: opts.nodes ?? 2 }, (_, i) => spawnNode(`node-${i}`)));
    nc = await connectNats({ servers: nats.url });
    const store = await BlobStore.open(nc, { bucket: `${namespace}_blobs` });
    return {
      nats,
      namespace,
      nodes,
      nc,
      store,
      spawnNode,
      async runtime(o = {}) {
        const rt = await createJobRuntime({
          natsUrl: nats.url,
          namespace,
          logger: pino({ level: process.env.PATCHWORK_LOG_LEVEL ?? 'silent' }),
          kernel: { backoffMs: { base: 20, max: 500 } },
          ...o,
          host: { leaseTtlMs: 1_000, ...(o.host ?? {}) },
        });
        runtimes.push(rt);
        await rt.ready();
        await rt.cluster.nodes.waitFor((ns) => ns.length >= nodes.length, 10_000);
        return rt;
      },
      async upload(jobs, tenant, bytes) {
        const meta = await sharp(bytes).metadata();
        const { id } = await store.put(bytes);
        const ref: ImageRef = { id, width: meta.width!, height: meta.height!, contentType: meta.format === 'jpeg' ? 'image/jpeg' : meta.format === 'webp' ? 'image/webp' : 'image/png' };
        await jobs.recordUpload(tenant, ref);
        return ref;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface ExampleCase {
  name: string;
  image: Buffer;
  mask: Buffer;
}

/** One of the example photos (examples/, in every clone), optionally scaled to `width` (mask: nearest neighbour). */
export async function exampleCase(name: 't009' | 't020' | 't023' | 't058' | 't067', width?: number): Promise<ExampleCase> {
  const masks = { t009: 'm009.png', t020: 'm020.png', t023: 'm023.png', t058: 'm058_1.png', t067: 'm067.png' } as const;
  const imagePath = resolve(root, 'examples', `${name}.jpg`);
  const maskPath = resolve(root, 'examples', masks[name]);
  if (!width) return { name, image: await sharp(imagePath).toBuffer(), mask: await sharp(maskPath).png().toBuffer() };
  const meta = await sharp(imagePath).metadata();
  const height = Math.round((meta.height! * width) / meta.width!);
  return {
    name: `${name}@${width}`,
    image: await sharp(imagePath).resize(width, height, { fit: 'fill' }).png().toBuffer(),
    mask: await sharp(maskPath).resize(width, height, { fit: 'fill', kernel: 'nearest' }).png().toBuffer(),
  };
}

/** The blob id of what `patchwork local` writes for these bytes (decode, inpaint in process, PNG). */
export async function localResultId(c: ExampleCase, options: InpaintInput = {}): Promise<string> {
  const out = await inpaint(await decodeImage(c.image, 'image'), await decodeImage(c.mask, 'mask'), { workers: 2, ...options }, undefined);
  return blobIdOf(await encodeImage(out, 'png'));
}

/** Every view a watch gives until it ends (the final one last). */
export async function collectWatch(jobs: JobService, tenant: string, id: string): Promise<JobView[]> {
  const out: JobView[] = [];
  for await (const v of jobs.watch(tenant, id)) out.push(v);
  return out;
}
