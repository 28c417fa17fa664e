// Renders deploy/k8s with the real `kubectl kustomize` (no cluster needed) and parses the output
// into plain objects. Every overlay is rendered alone and with the optional components, so a
// component that no longer applies to an overlay fails here, not on a user's cluster.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
export const k8sDir = join(repoRoot, 'deploy/k8s');

/** A rendered Kubernetes object, as plain JSON. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** kubectl's path; fails with a message saying how to get it when it is missing. */
export function requireKubectl(): string {
  const bin = process.env.KUBECTL ?? 'kubectl';
  const res = spawnSync(bin, ['version', '--client'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new Error(
      `kubectl is missing (${res.error?.message ?? res.stderr.trim()}): the Kubernetes manifest checks need it to render deploy/k8s with ` +
        '`kubectl kustomize` (kubectl 1.27 or later, which embeds kustomize v5). Install kubectl, or point KUBECTL at it.',
    );
  }
  return bin;
}

export function parseManifests(text: string, source: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: YAML error: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    out.push(value as K8sObject);
  }
  return out;
}

/** `kubectl kustomize DIR`, parsed. Throws with kubectl's own message when it fails. */
export function kustomize(dir: string): K8sObject[] {
  const res = spawnSync(requireKubectl(), ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`kubectl kustomize ${relative(repoRoot, dir) || dir} failed:\n${res.stderr}`);
  return parseManifests(res.stdout, dir);
}

/** Renders an overlay with components added, through a throwaway kustomization beside nothing. */
export function kustomizeWith(overlay: string, components: string[]): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'pw-kustomize-'));
  try {
    // kustomize takes only relative paths to other kustomizations.
    const rel = (p: string) => relative(dir, p);
    const body = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'resources:', `  - ${rel(overlay)}`, 'components:', ...components.map((c) => `  - ${rel(c)}`), ''].join('\n');
    writeFileSync(join(dir, 'kustomization.yaml'), body);
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function subdirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .sort();
}

export const overlayNames = (): string[] => subdirs(join(k8sDir, 'overlays'));
export const componentNames = (): string[] => subdirs(join(k8sDir, 'components'));

export interface Target {
  /** e.g. `prod`, `prod+ingress`, `root` */
  name: string;
  overlay: string;
  components: string[];
  objects: K8sObject[];
}

/**
 * Every deployable rendering: the root, each overlay alone, with each component, and with all
 * components. Rendered once per process and shared by the checks.
 */
let cached: Target[] | undefined;
export function allTargets(): Target[] {
  if (cached) return cached;
  const targets: Target[] = [{ name: 'root', overlay: 'root', components: [], objects: kustomize(k8sDir) }];
  const components = componentNames();
  for (const overlay of overlayNames()) {
    const dir = join(k8sDir, 'overlays', overlay);
    targets.push({ name: overlay, overlay, components: [], objects: kustomize(dir) });
    const sets = [...components.map((c) => [c]), ...(components.length > 1 ? [components] : [])];
    for (const set of sets) {
      targets.push({ name: `${overlay}+${set.join('+')}`, overlay, components: set, objects: kustomizeWith(dir, set.map((c) => join(k8sDir, 'components', c))) });
    }
  }
  cached = targets;
  return targets;
}

export function findObject(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/** Generated ConfigMaps carry a hash suffix: find one by the name it was generated from. */
export function findConfigMap(objects: K8sObject[], baseName: string): (K8sObject & { data?: Record<string, string> }) | undefined {
  return objects.find((o) => o.kind === 'ConfigMap' && (o.metadata.name === baseName || new RegExp(`^${baseName}-[a-z0-9]{10}$`).test(o.metadata.name))) as
    | (K8sObject & { data?: Record<string, string> })
    | undefined;
}

/** A deep copy to mutate into a bad fixture. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
