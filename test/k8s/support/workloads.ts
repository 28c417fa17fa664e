// The pods a rendering would run: each Deployment's and StatefulSet's pod template with its
// containers, and how a container's environment is assembled (env, envFrom ConfigMaps and
// Secrets, values from the pod), so the checks read manifests the way the kubelet does.
import { findConfigMap, type K8sObject } from './render.ts';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
  };
}

export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  grpc?: { port: number; service?: string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  configMap?: { name: string };
  secret?: { secretName: string };
  persistentVolumeClaim?: { claimName: string };
  [source: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

export interface Workload {
  kind: string;
  name: string;
  namespace: string;
  object: K8sObject;
  labels: Record<string, string>;
  spec: PodSpec;
  replicas: number | undefined;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);

export function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((o) => {
      const spec = o.spec as { replicas?: number; template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } };
      return {
        kind: o.kind,
        name: o.metadata.name,
        namespace: o.metadata.namespace ?? 'default',
        object: o,
        labels: spec.template.metadata?.labels ?? {},
        spec: spec.template.spec,
        replicas: spec.replicas,
      };
    });
}

export function workload(objects: K8sObject[], name: string): Workload {
  const w = workloads(objects).find((x) => x.name === name);
  if (!w) throw new Error(`no workload ${name} in the rendering`);
  return w;
}

export function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** Where each environment variable of a container comes from. */
export interface EnvEntry {
  name: string;
  /** The literal value, or the ConfigMap value, when the manifests say it. */
  value?: string;
  source: 'value' | 'configMap' | 'secret' | 'fieldRef' | 'resourceFieldRef';
  detail?: string;
}

/**
 * The container's environment as the kubelet assembles it: envFrom first (in order), then env,
 * later entries winning. A ConfigMap named in envFrom that the rendering lacks is reported.
 */
export function containerEnv(objects: K8sObject[], c: Container, problems: string[] = []): Map<string, EnvEntry> {
  const env = new Map<string, EnvEntry>();
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = findConfigMap(objects, from.configMapRef.name);
      if (!cm) {
        problems.push(`container ${c.name}: envFrom ConfigMap ${from.configMapRef.name} is not in the rendering`);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set(prefix + k, { name: prefix + k, value: v, source: 'configMap', detail: cm.metadata.name });
    }
    if (from.secretRef) {
      // Secrets are created outside the manifests in production: their keys are unknown here.
      problems.push(`container ${c.name}: envFrom Secret ${from.secretRef.name} hides which variables it sets; use env with secretKeyRef`);
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env.set(e.name, { name: e.name, value: e.value, source: 'value' });
    else if (e.valueFrom?.configMapKeyRef) {
      const cm = findConfigMap(objects, e.valueFrom.configMapKeyRef.name);
      env.set(e.name, { name: e.name, value: cm?.data?.[e.valueFrom.configMapKeyRef.key], source: 'configMap', detail: e.valueFrom.configMapKeyRef.name });
    } else if (e.valueFrom?.secretKeyRef) env.set(e.name, { name: e.name, source: 'secret', detail: `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}` });
    else if (e.valueFrom?.fieldRef) env.set(e.name, { name: e.name, source: 'fieldRef', detail: e.valueFrom.fieldRef.fieldPath });
    else if (e.valueFrom?.resourceFieldRef) env.set(e.name, { name: e.name, source: 'resourceFieldRef', detail: e.valueFrom.resourceFieldRef.resource });
    else env.set(e.name, { name: e.name, value: '', source: 'value' });
  }
  return env;
}

/** Kubernetes CPU quantity ("2", "500m") in cores. */
export function cpuCores(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const s = String(q);
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Kubernetes (and NATS config) byte quantity ("512Mi", "10Gi", "1G") in bytes. */
export function bytes(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMGT]i|[kMGT])?[bB]?$/.exec(String(q).trim());
  if (!m) return undefined;
  const unit = m[2] ? (BINARY[m[2]] ?? DECIMAL[m[2]]) : 1;
  return Number(m[1]) * unit;
}

/**
 * Example values for what the kubelet fills in at run time, to feed a container's environment to
 * the code's own config parser.
 */
export function resolveRuntimeEnv(env: Map<string, EnvEntry>, c: Container, pod: { name: string; ip: string }, secrets: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env.values()) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.source === 'fieldRef') out[e.name] = e.detail === 'metadata.name' ? pod.name : e.detail === 'status.podIP' ? pod.ip : `<${e.detail}>`;
    else if (e.source === 'resourceFieldRef') {
      const [kind, resource] = (e.detail ?? '').split('.');
      const q = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[resource];
      // divisor 1 rounds CPU up to whole cores, as the kubelet does.
      out[e.name] = resource === 'cpu' ? String(Math.ceil(cpuCores(q) ?? 0)) : String(bytes(q) ?? '');
    } else if (e.source === 'secret') out[e.name] = secrets[e.detail ?? ''] ?? `secret-value-of-${e.detail}`;
  }
  return out;
}
