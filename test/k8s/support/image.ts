// Checks of the container image's recipe (no engine runs here, so the Dockerfile is read, not
// built): a Debian Node base (sharp's prebuilt libvips is for glibc), production dependencies
// only in the image that runs, a numeric non-root user the manifests run as, the entrypoint and
// every file the processes read at run time present in the build context and copied.
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Dockerfile } from './code-tables.ts';
import type { K8sObject } from './render.ts';
import { workloads } from './workloads.ts';

/** Files the processes read at run time (besides node_modules): what the image must hold. */
export const RUNTIME_FILES = [
  'package.json', // src/kernel/cluster/registry.ts reads the version
  'package-lock.json',
  'tsconfig.json', // tsx compiles with it
  'schema.graphql', // src/gateway/schema.ts
  'bin/patchwork',
  'src/cli/main.ts',
  'src/kernel/node/node-worker.ts',
  'src/kernel/worker.ts',
];

/** `.dockerignore` as Docker reads it: the last matching pattern wins, `!` re-includes. */
export function dockerIgnored(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const pattern = (neg ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, '');
    if (!pattern) continue;
    const re = new RegExp(
      '^' +
        pattern
          .split(/(\*\*\/?|\*|\?)/)
          .map((part) => (part === '**/' || part === '**' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
          .join('') +
        '(?:/.*)?$',
    );
    if (re.test(path)) ignored = !neg;
  }
  return ignored;
}

export function parseDockerignore(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export function imageProblems(df: Dockerfile, ignore: string[], root: string, objects: K8sObject[] = []): string[] {
  const problems: string[] = [];
  if (df.stages.length < 2) problems.push('Dockerfile: not multi-stage (build with dev dependencies, run with production ones)');
  for (const s of df.stages) {
    const m = /^node:(\d+)(?:\.\d+)*-(bookworm|trixie)(?:-slim)?$/.exec(s.from);
    if (!m) problems.push(`Dockerfile: FROM ${s.from} is not a Debian Node image (node:22-bookworm-slim): sharp ships prebuilt binaries for glibc`);
    else if (Number(m[1]) < 20) problems.push(`Dockerfile: FROM ${s.from}: package.json needs Node 20.19 or later`);
  }
  const runs = df.final.filter((i) => i.instruction === 'RUN').map((i) => i.args);
  if (!runs.some((r) => /\bnpm ci\b[^&]*--omit=dev/.test(r))) problems.push('Dockerfile: the final stage does not install with `npm ci --omit=dev`');
  if (runs.some((r) => /\bnpm (i|install)\b/.test(r))) problems.push('Dockerfile: the final stage uses npm install (use npm ci: the lock file decides)');
  const user = df.user ?? '';
  if (!/^\d+(:\d+)?$/.test(user) || Number(user.split(':')[0]) === 0) problems.push(`Dockerfile: USER ${user || '(root)'} is not a numeric non-root uid (Kubernetes checks runAsNonRoot by number)`);
  if (!df.workdir) problems.push('Dockerfile: no WORKDIR');
  const entry = df.entrypoint?.[0] ?? '';
  const local = df.workdir && entry.startsWith(df.workdir + '/') ? entry.slice(df.workdir.length + 1) : undefined;
  if (!local) problems.push(`Dockerfile: ENTRYPOINT ${JSON.stringify(df.entrypoint)} is not a file under WORKDIR ${df.workdir}`);
  else {
    try {
      accessSync(join(root, local), constants.X_OK);
    } catch {
      problems.push(`Dockerfile: ENTRYPOINT ${entry} (${local} in the repository) is missing or not executable`);
    }
  }
  const copies = df.final.filter((i) => i.instruction === 'COPY').map((i) => i.args);
  for (const f of RUNTIME_FILES) {
    if (!existsSync(join(root, f))) problems.push(`Dockerfile: runtime file ${f} is not in the repository`);
    if (dockerIgnored(ignore, f)) problems.push(`.dockerignore excludes ${f}, which the image needs at run time`);
    const top = f.split('/')[0];
    if (!copies.some((c) => c.split(/\s+/).some((tok) => tok === top || tok === `/app/${top}` || tok.endsWith(`/${top}`) || tok === '.'))) problems.push(`Dockerfile: the final stage does not copy ${top}`);
  }
  if (!dockerIgnored(ignore, 'node_modules') || !dockerIgnored(ignore, 'node_modules/x/y.js')) problems.push('.dockerignore: node_modules goes into the build context (the image installs its own)');
  for (const w of workloads(objects)) {
    for (const c of w.spec.containers) {
      if (!/(^|\/)patchwork(:|@|$)/.test(c.image ?? '')) continue;
      for (const p of c.ports ?? []) if (!df.exposed.includes(p.containerPort)) problems.push(`Dockerfile: does not EXPOSE ${p.containerPort} (${w.name} ${p.name})`);
    }
  }
  return problems;
}
