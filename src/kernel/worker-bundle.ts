// How worker threads get their code. Run from TypeScript sources, a worker entry and what it
// imports are bundled once per process to plain JavaScript with esbuild (60-80 ms) and started as
// an eval'd CommonJS script with `execArgv: []`: a worker that registered tsx instead cost ~35 MB
// against ~12 and started slower. esbuild is loaded from this file and the bundle resolves nothing
// at run time (only node: built-ins stay external), so the command runs from any working
// directory. Built to JavaScript, the entry's .js file is loaded as it is.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as esbuild from 'esbuild';

export type WorkerSource = { code: string } | { file: URL };


function buildOptions(entry: URL): esbuild.BuildOptions & { write: false } {
  return { entryPoints: [fileURLToPath(entry)], bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false, logLevel: 'silent' };
}

const bundles = new Map<string, Promise<WorkerSource>>();
const bundlesSync = new Map<string, WorkerSource>();

function builtFile(entry: URL): WorkerSource | null {
  return entry.pathname.endsWith('.ts') ? null : { file: entry };
}

/** `entry` (a worker's .ts module URL, or its built .js) as code to start workers from, bundled in the background. */
export function workerSource(entry: URL): Promise<WorkerSource> {
  const built = builtFile(entry);
  if (built) return Promise.resolve(built);
  let bundle = bundles.get(entry.href);
  if (!bundle) {
    bundle = import('esbuild').then(async ({ build }) => ({ code: (await build(buildOptions(entry))).outputFiles[0].text }));
    bundles.set(entry.href, bundle);
  }
  return bundle;
}

/** As workerSource, bundling synchronously (for a pool whose workers start in a constructor). */
export function workerSourceSync(entry: URL): WorkerSource {
  const built = builtFile(entry);
  if (built) return built;
  let bundle = bundlesSync.get(entry.href);
  if (!bundle) {
    const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof esbuild;
    bundle = { code: buildSync(buildOptions(entry)).outputFiles[0].text };
    bundlesSync.set(entry.href, bundle);
  }
  return bundle;
}

export function startWorker(source: WorkerSource): Worker {
  return 'code' in source ? new Worker(source.code, { eval: true, execArgv: [] }) : new Worker(source.file);
}
