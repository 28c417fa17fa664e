// A real kernel cluster for a test: nats-server, N `patchwork kernel` processes, a blob store and
// a KernelCluster client, all under one unique namespace; `close()` stops everything.
import { pino } from 'pino';
import { BlobStore } from '../../src/common/blob-store.ts';
import { connectNats, type NatsConnection } from '../../src/common/nats.ts';
import { KernelCluster, optionsToWire, type ClientTls, type JobSpec } from '../../src/kernel/client/index.ts';
import { encodeImage, type PlanOptions, type RgbaImage } from '../../src/kernel/index.ts';
import { startNatsServer, type NatsServer } from './nats-server.ts';
import { spawnKernelNode, type KernelNodeOptions, type KernelNodeProcess } from './kernel-node.ts';

export interface TestCluster {
  nats: NatsServer;
  nodes: KernelNodeProcess[];
  nc: NatsConnection;
  store: BlobStore;
  cluster: KernelCluster;
  namespace: string;
  /** Stores image and mask as PNG blobs and returns a job spec for them. */
  job(jobId: string, image: RgbaImage, mask: RgbaImage, options?: Partial<PlanOptions>): Promise<JobSpec>;
  spawn(id: string, extra?: Partial<KernelNodeOptions>): Promise<KernelNodeProcess>;
  close(): Promise<void>;
}

let counter = 0;

export async function startTestCluster(nodeCount: number, nodeOptions: Partial<KernelNodeOptions> = {}, clientOptions: { attempts?: number; tls?: ClientTls } = {}): Promise<TestCluster> {
  const namespace = `t${process.pid}x${++counter}`;
  const nats = await startNatsServer();
  const nodes: KernelNodeProcess[] = [];
  let nc: NatsConnection | null = null;
  let cluster: KernelCluster | null = null;
  const close = async (): Promise<void> => {
    await cluster?.close().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await nats.dispose();
  };
  try {
    const spawn = async (id: string, extra: Partial<KernelNodeOptions> = {}): Promise<KernelNodeProcess> => {
      const node = await spawnKernelNode({ natsUrl: nats.url, namespace, id, ...nodeOptions, ...extra });
      nodes.push(node);
      return node;
    };
    await Promise.all(Array.from({ length: nodeCount }, (_, i) => spawn(`node-${i}`)));
    nc = await connectNats({ servers: nats.url });
    const store = await BlobStore.open(nc, { bucket: `${namespace}_blobs` });
    cluster = await KernelCluster.connect({ nc, namespace, log: pino({ level: 'silent' }), backoffMs: { base: 20, max: 500 }, ...clientOptions });
    await cluster.nodes.waitFor((ns) => ns.length === nodeCount, 10_000);
    const c = cluster;
    return {
      nats,
      nodes,
      nc,
      store,
      cluster: c,
      namespace,
      spawn,
      async job(jobId, image, mask, options = {}) {
        const [img, msk] = await Promise.all([encodeImage(image, 'png'), encodeImage(mask, 'png')]);
        const [i, m] = await Promise.all([store.put(img), store.put(msk)]);
        return { jobId, imageBlobId: i.id, maskBlobId: m.id, donorBlobIds: [], options: optionsToWire(options) };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
