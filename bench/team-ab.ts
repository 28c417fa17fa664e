// Paired comparison of the remote driver's two paths on the same two kernel nodes (1 worker each):
// 2-node fills of the bench:cluster image (t009 scaled to 1024x768), team runs against the
// client-driven steps, alternating, each fill with its own seed (no cache or store hits).
// Prints each pair and the medians. Run under the machine lock:
//   flock /tmp/pw-machine.lock node --import ./node_modules/tsx/dist/loader.mjs bench/team-ab.ts [pairs=6]
import { resolve } from 'node:path';
import sharp from 'sharp';
import { BlobStore } from '../src/common/blob-store.ts';
import { connectNats } from '../src/common/nats.ts';
import { KernelCluster, inpaintRemote, optionsToWire, type JobSpec } from '../src/kernel/client/index.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { sharedDir } from './support/shared.ts';
import { spawnKernelNode, type KernelNodeProcess } from '../test/support/kernel-node.ts';
const images = resolve(sharedDir(), 'images');
const scaled = (p: string, nearest: boolean): Promise<Buffer> => sharp(p).resize(1024, 768, { fit: 'fill', kernel: nearest ? 'nearest' : 'lanczos3' }).png().toBuffer();
const pairs = Number(process.argv[2] ?? 6);
const imageBytes = await scaled(resolve(images, 't009.jpg'), false);
const maskBytes = await scaled(resolve(images, 'm009.png'), true);
const nats = await startNatsServer();
const nodes: KernelNodeProcess[] = [];
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
try {
  for (let i = 0; i < 2; i++) nodes.push(await spawnKernelNode({ natsUrl: nats.url, namespace: 'ab', id: `ab-${i}`, workers: 1, heartbeatMs: 1000 }));
  const nc = await connectNats({ servers: nats.url });
  const store = await BlobStore.open(nc, { bucket: 'ab_blobs' });
  const image = await store.put(imageBytes);
  const mask = await store.put(maskBytes);
  const cluster = await KernelCluster.connect({ nc, namespace: 'ab' });
  await cluster.nodes.waitFor((ns) => ns.length >= 2, 10000);
  const fill = async (seed: number, teamRuns: boolean): Promise<{ ms: number; id: string }> => {
    const job: JobSpec = { jobId: `ab-${seed}-${teamRuns}`, imageBlobId: image.id, maskBlobId: mask.id, donorBlobIds: [], options: optionsToWire({ seed }) };
    const t0 = performance.now();
    const r = await inpaintRemote(cluster, job, { maxNodes: 2, teamRuns });
    return { ms: performance.now() - t0, id: r.result.id };
  };
  // Warm-up (JIT, worker start-up, connections), not counted.
  await fill(999, true);
  await fill(998, false);
  const team: number[] = [];
  const chunks: number[] = [];
  for (let p = 0; p < pairs; p++) {
    // Distinct seeds per run (no cache flattering); order alternates.
    const a = p % 2 === 0 ? await fill(100 + 2 * p, true) : null;
    const b = await fill(101 + 2 * p, false);
    const a2 = a ?? (await fill(100 + 2 * p, true));
    team.push(a2.ms);
    chunks.push(b.ms);
    console.log(`pair ${p}: team ${Math.round(a2.ms)} ms, client-driven ${Math.round(b.ms)} ms`);
  }
  console.log(`median team ${Math.round(median(team))} ms, client-driven ${Math.round(median(chunks))} ms, ratio ${(median(chunks) / median(team)).toFixed(3)}; paired ratios ${team.map((t, i) => (chunks[i] / t).toFixed(2)).join(' ')}`);
  await cluster.close();
  await nc.close();
} finally {
  for (const n of nodes) await n.kill();
  await nats.dispose();
}
