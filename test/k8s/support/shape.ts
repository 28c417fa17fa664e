// Checks of the deployment's shape: how many of each part an overlay runs, the standard labels
// and release version, the Ingress against the gateway's limits, and the Secrets the pods need
// (present in the rendering with their keys, or documented in the README for the operator).
import { FILE_SETTINGS, containerRole, effectiveSetting, packageVersion } from './code-tables.ts';
import { readNatsConf } from './nats-conf.ts';
import { findConfigMap, findObject, type K8sObject } from './render.ts';
import { bytes, containerEnv, workloads, type Workload } from './workloads.ts';

export interface Shape {
  natsReplicas: number;
  jetstreamReplicas: number;
  /** Pods when idle: the autoscaler's minimum, or the Deployment's replicas (default 1). */
  gatewayMin: number;
  gatewayMax: number;
  kernelMin: number;
  kernelMax: number;
  autoscaled: { gateway: boolean; kernel: boolean };
}

function hpaFor(objects: K8sObject[], w: Workload) {
  return objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && (o.spec as { scaleTargetRef: { name: string; kind: string } }).scaleTargetRef.name === w.name) as
    | (K8sObject & { spec: { minReplicas?: number; maxReplicas: number } })
    | undefined;
}

export function shapeOf(objects: K8sObject[]): Shape {
  const ws = workloads(objects);
  const nats = ws.find((w) => w.kind === 'StatefulSet' && w.spec.containers.some((c) => /(^|\/)nats(:|@|$)/.test(c.image ?? '')));
  const role = (r: string) => ws.find((w) => w.spec.containers.some((c) => containerRole(c) === r));
  const gateway = role('gateway');
  const kernel = role('kernel');
  const scale = (w: Workload | undefined) => {
    if (!w) return { min: 0, max: 0, auto: false };
    const hpa = hpaFor(objects, w);
    return hpa ? { min: hpa.spec.minReplicas ?? 1, max: hpa.spec.maxReplicas, auto: true } : { min: w.replicas ?? 1, max: w.replicas ?? 1, auto: false };
  };
  const g = scale(gateway);
  const k = scale(kernel);
  const gc = gateway?.spec.containers.find((c) => containerRole(c) === 'gateway');
  return {
    natsReplicas: nats?.replicas ?? (nats ? 1 : 0),
    jetstreamReplicas: gc ? Number(effectiveSetting('gateway', containerEnv(objects, gc), 'PATCHWORK_JETSTREAM_REPLICAS')) : 0,
    gatewayMin: g.min,
    gatewayMax: g.max,
    kernelMin: k.min,
    kernelMax: k.max,
    autoscaled: { gateway: g.auto, kernel: k.auto },
  };
}

/** What each overlay promises (issue 8): dev runs one of each; prod three NATS at R3, 2+ gateways, 3+ kernel nodes. */
export function shapeProblems(overlay: string, objects: K8sObject[]): string[] {
  const s = shapeOf(objects);
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${overlay}: ${what} (got ${JSON.stringify(s)})`);
  };
  if (overlay === 'dev') {
    expect(s.natsReplicas === 1, 'one NATS server');
    expect(s.jetstreamReplicas === 1, 'JetStream replicas 1');
    expect(s.gatewayMin === 1 && s.gatewayMax === 1, 'exactly one gateway');
    expect(s.kernelMin === 1 && s.kernelMax === 1, 'exactly one kernel node');
  } else if (overlay === 'prod' || overlay === 'root') {
    expect(s.natsReplicas === 3, 'three NATS servers');
    expect(s.jetstreamReplicas === 3, 'streams and buckets at three replicas');
    expect(s.autoscaled.gateway && s.gatewayMin >= 2 && s.gatewayMax >= s.gatewayMin, 'two or more gateways, autoscaled');
    expect(s.autoscaled.kernel && s.kernelMin >= 3 && s.kernelMax >= s.kernelMin, 'three or more kernel nodes, autoscaled');
  } else problems.push(`${overlay}: an overlay this check does not know; say what it promises in test/k8s/support/shape.ts`);
  // Deployments an autoscaler owns leave replicas unset, or every apply would reset them.
  for (const w of workloads(objects)) {
    if (w.kind === 'Deployment' && hpaFor(objects, w) && w.replicas !== undefined) problems.push(`${overlay}: Deployment/${w.name} sets replicas although an autoscaler owns them`);
  }
  return problems;
}

const STANDARD = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version'];
const TEMPLATE = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of'];

/**
 * Labels: the standard app.kubernetes.io labels on every object (version = package.json's),
 * the identifying ones on every pod template, selectors within the template's labels; the
 * Patchwork image tagged with the release.
 */
export function labelProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const version = packageVersion();
  for (const o of objects) {
    const labels = o.metadata.labels ?? {};
    for (const l of STANDARD) if (!labels[l]) problems.push(`${o.kind}/${o.metadata.name}: no label ${l}`);
    if (labels['app.kubernetes.io/version'] && labels['app.kubernetes.io/version'] !== version) problems.push(`${o.kind}/${o.metadata.name}: app.kubernetes.io/version ${labels['app.kubernetes.io/version']}, package.json says ${version}`);
    if (labels['app.kubernetes.io/part-of'] && labels['app.kubernetes.io/part-of'] !== 'patchwork') problems.push(`${o.kind}/${o.metadata.name}: part-of ${labels['app.kubernetes.io/part-of']}`);
  }
  for (const w of workloads(objects)) {
    for (const l of TEMPLATE) if (!w.labels[l]) problems.push(`${w.kind}/${w.name}: pod template has no label ${l}`);
    const sel = (w.object.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
    if (Object.keys(sel).length === 0) problems.push(`${w.kind}/${w.name}: empty selector`);
    for (const [k, v] of Object.entries(sel)) if (w.labels[k] !== v) problems.push(`${w.kind}/${w.name}: selector ${k}=${v} does not match its pod template`);
    for (const c of w.spec.containers) {
      if (!/(^|\/)patchwork:/.test(c.image ?? '')) continue;
      const tag = c.image!.slice(c.image!.lastIndexOf(':') + 1);
      if (tag !== version) problems.push(`${w.kind}/${w.name}: image ${c.image} is not the release ${version}`);
    }
  }
  return problems;
}

/**
 * The Ingress: WebSocket-friendly timeouts, a body limit that lets the gateway's largest upload
 * through, routing to the gateway Service, and PATCHWORK_PUBLIC_URL on its host.
 */
export function ingressProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const gw = workloads(objects).find((w) => w.spec.containers.some((c) => containerRole(c) === 'gateway'));
  const gc = gw?.spec.containers.find((c) => containerRole(c) === 'gateway');
  const env = gc ? containerEnv(objects, gc) : new Map<string, { value?: string }>();
  for (const o of objects.filter((x) => x.kind === 'Ingress')) {
    const a = o.metadata.annotations ?? {};
    const name = `Ingress/${o.metadata.name}`;
    for (const k of ['nginx.ingress.kubernetes.io/proxy-read-timeout', 'nginx.ingress.kubernetes.io/proxy-send-timeout']) {
      if (!(Number(a[k]) >= 3600)) problems.push(`${name}: ${k} ${a[k] ?? '(default 60 s)'} closes idle WebSocket subscriptions; use 3600 or more`);
    }
    const body = bytes(a['nginx.ingress.kubernetes.io/proxy-body-size']?.replace(/m$/i, 'Mi').replace(/k$/i, 'Ki').replace(/g$/i, 'Gi'));
    const upload = Number(effectiveSetting('gateway', env, 'PATCHWORK_MAX_UPLOAD_BYTES'));
    if (!(body !== undefined && body > upload)) problems.push(`${name}: proxy-body-size ${a['nginx.ingress.kubernetes.io/proxy-body-size'] ?? '(default 1m)'} refuses uploads the gateway accepts (${upload} bytes)`);
    const hosts = ((o.spec as { rules?: { host?: string }[] }).rules ?? []).map((r) => r.host);
    const publicUrl = env.get('PATCHWORK_PUBLIC_URL')?.value;
    if (!publicUrl) problems.push(`${name}: PATCHWORK_PUBLIC_URL is not set on the gateway (image URLs stay relative to whatever host the client used)`);
    else if (!hosts.includes(new URL(publicUrl).host)) problems.push(`${name}: PATCHWORK_PUBLIC_URL ${publicUrl} is not one of its hosts (${hosts.join(', ')})`);
  }
  return problems;
}

/** Secret name → keys the pods read from it. */
export function secretRefs(objects: K8sObject[]): Map<string, Set<string>> {
  const refs = new Map<string, Set<string>>();
  const add = (name: string, key?: string) => {
    const set = refs.get(name) ?? new Set<string>();
    if (key) set.add(key);
    refs.set(name, set);
  };
  for (const w of workloads(objects)) {
    for (const c of w.spec.containers) {
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) add(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
      // Files read from Secret volumes: the file settings that point into them.
      const env = containerRole(c) ? containerEnv(objects, c) : new Map<string, { value?: string }>();
      for (const m of c.volumeMounts ?? []) {
        const vol = (w.spec.volumes ?? []).find((v) => v.name === m.name);
        if (!vol?.secret) continue;
        add(vol.secret.secretName);
        for (const [name, e] of env) {
          if (FILE_SETTINGS.has(name) && e.value?.startsWith(m.mountPath.replace(/\/?$/, '/'))) add(vol.secret.secretName, e.value.slice(m.mountPath.replace(/\/?$/, '/').length));
        }
      }
    }
  }
  return refs;
}

/**
 * Every Secret a pod reads is in the rendering with the keys read, or the README tells the
 * operator how to create it: a `kubectl create secret` naming it and each of its keys.
 */
export function secretProblems(objects: K8sObject[], readme: string): string[] {
  const problems: string[] = [];
  const blocks = [...readme.matchAll(/```(?:sh|bash|console)?\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n/g, ' '));
  for (const [name, keys] of secretRefs(objects)) {
    const secret = findObject(objects, 'Secret', name);
    if (secret) {
      const have = new Set([...Object.keys((secret.data as object) ?? {}), ...Object.keys((secret.stringData as object) ?? {})]);
      for (const k of keys) if (!have.has(k)) problems.push(`Secret/${name}: no key ${k}, which the pods read`);
      continue;
    }
    const commands = blocks.flatMap((b) => b.split('\n')).filter((l) => /kubectl\b.*\bcreate secret\b/.test(l) && new RegExp(`\\b${name}\\b`).test(l));
    if (commands.length === 0) {
      problems.push(`Secret/${name}: not in the manifests and the README does not say how to create it (kubectl create secret ... ${name})`);
      continue;
    }
    const text = commands.join('\n');
    for (const k of keys) {
      const tlsKey = (k === 'tls.crt' && /create secret tls/.test(text) && /--cert[= ]/.test(text)) || (k === 'tls.key' && /create secret tls/.test(text) && /--key[= ]/.test(text));
      if (!tlsKey && !new RegExp(`--from-(literal|file)=${k.replace('.', '\\.')}[=]`).test(text)) problems.push(`Secret/${name}: the README's kubectl create secret does not set key ${k}`);
    }
  }
  return problems;
}

/** The NATS password rule the config parser imposes, for the placeholder Secrets in the manifests. */
export function natsPasswordProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects.filter((x) => x.kind === 'Secret')) {
    const values = { ...((o.stringData as Record<string, string>) ?? {}), ...Object.fromEntries(Object.entries((o.data as Record<string, string>) ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) };
    for (const w of workloads(objects)) {
      for (const c of w.spec.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref || ref.name !== o.metadata.name || !/(^|\/)nats(:|@|$)/.test(c.image ?? '')) continue;
          const v = values[ref.key];
          if (v !== undefined && !/^[A-Za-z][^\s#;,{}[\]"']*$/.test(v)) problems.push(`Secret/${o.metadata.name}: ${ref.key} must start with a letter and hold no spaces or config punctuation (nats-server reads $${e.name} unquoted)`);
        }
      }
    }
  }
  return problems;
}

export { readNatsConf, findConfigMap };
