// Checks that the manifests agree with the code. Each returns the problems it finds as lines
// naming the object and what is wrong; an empty list means the rendering agrees. The tests run
// them on every rendering and on deliberately broken copies, so each is seen to fail.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig } from '../../../src/gateway/config.ts';
import { clientConfig, nodeConfig } from '../../../src/kernel/cluster/config.ts';
import {
  FILE_SETTINGS,
  PLATFORM_ENV,
  REQUIRED_ENV,
  cliCommands,
  cliFlags,
  containerRole,
  effectiveSetting,
  roleEnvNames,
  type Dockerfile,
  type Role,
} from './code-tables.ts';
import { readNatsConf, type NatsConf } from './nats-conf.ts';
import { findConfigMap, findObject, type K8sObject } from './render.ts';
import { bytes, containerEnv, resolveRuntimeEnv, workloads, type Container, type Probe, type Workload } from './workloads.ts';

const where = (w: Workload, c: Container) => `${w.kind}/${w.name} container ${c.name}`;

function isPatchworkImage(c: Container): boolean {
  return /(^|\/)patchwork(:|@|$)/.test(c.image ?? '');
}

function* patchworkContainers(objects: K8sObject[]): Generator<{ w: Workload; c: Container; role: Role }> {
  for (const w of workloads(objects)) {
    for (const c of w.spec.containers) {
      const role = containerRole(c);
      if (role) yield { w, c, role };
    }
  }
}

/** The mount a path lies under, and the volume behind it. */
function mountOf(w: Workload, c: Container, path: string) {
  const m = (c.volumeMounts ?? []).filter((v) => path === v.mountPath || path.startsWith(v.mountPath.replace(/\/?$/, '/'))).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return m ? { mount: m, volume: (w.spec.volumes ?? []).find((v) => v.name === m.name) } : undefined;
}

/**
 * Environment: every variable a Patchwork container gets (env and envFrom ConfigMaps) is a
 * setting its role reads; the settings a cluster needs are all set; file settings point into a
 * mounted volume that has the file; and the code's own config parser accepts the result.
 */
export function envProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const consumed = new Set<string>();
  const shared = new Map<string, Map<string, string | undefined>>();
  for (const { w, c, role } of patchworkContainers(objects)) {
    for (const f of c.envFrom ?? []) if (f.configMapRef) consumed.add(findConfigMap(objects, f.configMapRef.name)?.metadata.name ?? f.configMapRef.name);
    const local: string[] = [];
    const env = containerEnv(objects, c, local);
    problems.push(...local.map((p) => `${where(w, c)}: ${p}`));
    const known = roleEnvNames(role);
    for (const e of env.values()) {
      if (!known.has(e.name) && !(e.name in PLATFORM_ENV)) {
        problems.push(`${where(w, c)}: ${e.name} (from ${e.source}${e.detail ? ` ${e.detail}` : ''}) is not a setting of \`patchwork ${role}\` (src/gateway/config.ts, src/kernel/cluster/config.ts, src/common/nats-auth.ts)`);
      }
    }
    for (const [name, why] of Object.entries(REQUIRED_ENV[role])) {
      if (!env.has(name)) problems.push(`${where(w, c)}: ${name} is not set (${why})`);
    }
    for (const e of env.values()) {
      if (!FILE_SETTINGS.has(e.name) || !e.value) continue;
      const at = mountOf(w, c, e.value);
      if (!at?.volume) {
        problems.push(`${where(w, c)}: ${e.name}=${e.value} is not under any mounted volume`);
        continue;
      }
      const file = e.value.slice(at.mount.mountPath.replace(/\/?$/, '/').length);
      const secretName = at.volume.secret?.secretName;
      const secret = secretName ? findObject(objects, 'Secret', secretName) : undefined;
      if (secret) {
        const keys = new Set([...Object.keys((secret.data as object) ?? {}), ...Object.keys((secret.stringData as object) ?? {})]);
        if (!keys.has(file)) problems.push(`${where(w, c)}: ${e.name}=${e.value} but Secret ${secretName} has no key ${file}`);
      }
    }
    const vars = new Map<string, string | undefined>([...env.values()].map((e) => [e.name, e.value]));
    shared.set(`${role}`, vars);
    // The code's own parser must accept what the pod would run with.
    const runtime = resolveRuntimeEnv(env, c, { name: `${w.name}-5d9c7b-x2v4q`, ip: '10.1.2.3' });
    problems.push(...parseProblems(role, runtime).map((p) => `${where(w, c)}: ${p}`));
  }
  for (const o of objects) {
    if (o.kind === 'ConfigMap' && /^patchwork-(config|gateway-config|kernel-config)/.test(o.metadata.name) && !consumed.has(o.metadata.name)) {
      problems.push(`ConfigMap/${o.metadata.name}: no Patchwork container reads it`);
    }
  }
  // Gateways and kernel nodes must meet on the same NATS, namespace and bucket replicas.
  const gw = shared.get('gateway');
  const kn = shared.get('kernel');
  if (gw && kn) {
    for (const name of ['PATCHWORK_NATS_URL', 'PATCHWORK_NAMESPACE', 'PATCHWORK_JETSTREAM_REPLICAS']) {
      if (gw.get(name) !== kn.get(name)) problems.push(`${name} differs: gateway ${gw.get(name)}, kernel ${kn.get(name)}`);
    }
  }
  return problems;
}

function parseProblems(role: Role, env: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'pw-k8s-env-'));
  try {
    if (role === 'kernel') {
      nodeConfig({}, env);
    } else {
      // The tokens file is read when the config loads: give it one with the Secret's format.
      const withFile = { ...env };
      if (withFile.PATCHWORK_TOKENS_FILE) {
        withFile.PATCHWORK_TOKENS_FILE = join(dir, 'tokens');
        writeFileSync(withFile.PATCHWORK_TOKENS_FILE, 'example-token-0123=example\n');
      }
      loadGatewayConfig(withFile);
      clientConfig({}, withFile);
    }
    return [];
  } catch (err) {
    return [`the code rejects its settings: ${(err as Error).message}`];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Port numbers a Patchwork role listens on, by container port name, from its settings. */
function expectedPorts(role: Role, env: Map<string, { value?: string }>): Record<string, number> {
  return role === 'gateway'
    ? { http: Number(effectiveSetting(role, env, 'PATCHWORK_PORT')) }
    : { grpc: Number(effectiveSetting(role, env, 'PATCHWORK_KERNEL_PORT')), http: Number(effectiveSetting(role, env, 'PATCHWORK_KERNEL_METRICS_PORT')) };
}

function resolvePort(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return (c.ports ?? []).some((p) => p.containerPort === port) ? port : undefined;
  return (c.ports ?? []).find((p) => p.name === port)?.containerPort;
}

function probeProblems(w: Workload, c: Container, name: string, probe: Probe | undefined): string[] {
  if (!probe) return [];
  const out: string[] = [];
  if (probe.httpGet && resolvePort(c, probe.httpGet.port) === undefined) out.push(`${where(w, c)}: ${name} targets port ${probe.httpGet.port}, which the container does not declare`);
  if (probe.grpc && resolvePort(c, probe.grpc.port) === undefined) out.push(`${where(w, c)}: ${name} (gRPC) targets port ${probe.grpc.port}, which the container does not declare`);
  if (probe.tcpSocket && resolvePort(c, probe.tcpSocket.port) === undefined) out.push(`${where(w, c)}: ${name} targets port ${probe.tcpSocket.port}, which the container does not declare`);
  return out;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * Ports: Patchwork containers declare exactly the ports their settings make them listen on;
 * NATS declares the ports of its config; probes, Services, the Ingress, autoscalers and
 * disruption budgets all point at things that exist.
 */
export function portProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const all = workloads(objects);
  for (const { w, c, role } of patchworkContainers(objects)) {
    const want = expectedPorts(role, containerEnv(objects, c));
    for (const [name, port] of Object.entries(want)) {
      const got = c.ports?.find((p) => p.name === name);
      if (!got) problems.push(`${where(w, c)}: no container port named ${name} (the code listens on ${port})`);
      else if (got.containerPort !== port) problems.push(`${where(w, c)}: port ${name} is ${got.containerPort} but the code listens on ${port}`);
    }
    for (const p of c.ports ?? []) if (!(p.name && p.name in want)) problems.push(`${where(w, c)}: port ${p.name ?? ''} ${p.containerPort} is not one the code listens on`);
    if (role === 'kernel') {
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
        if (probe?.grpc && probe.grpc.port !== want.grpc) problems.push(`${where(w, c)}: gRPC probe on ${probe.grpc.port}, the node serves gRPC on ${want.grpc}`);
      }
    }
  }
  for (const w of all) {
    for (const c of w.spec.containers) {
      problems.push(...probeProblems(w, c, 'startupProbe', c.startupProbe), ...probeProblems(w, c, 'readinessProbe', c.readinessProbe), ...probeProblems(w, c, 'livenessProbe', c.livenessProbe));
    }
  }
  for (const o of objects) {
    const spec = o.spec as Record<string, unknown> | undefined;
    if (o.kind === 'Service') {
      const sel = spec?.selector as Record<string, string> | undefined;
      const targets = all.filter((w) => w.namespace === (o.metadata.namespace ?? 'default') && selects(sel, w.labels));
      if (targets.length === 0) {
        problems.push(`Service/${o.metadata.name}: selects no pods`);
        continue;
      }
      for (const p of (spec?.ports as { name?: string; port: number; targetPort?: number | string }[]) ?? []) {
        const target = p.targetPort ?? p.port;
        for (const w of targets) {
          if (!w.spec.containers.some((c) => resolvePort(c, target) !== undefined)) problems.push(`Service/${o.metadata.name}: port ${p.name ?? p.port} targets ${target}, which ${w.kind}/${w.name} does not declare`);
        }
      }
    }
    if (o.kind === 'Ingress') {
      for (const rule of (spec?.rules as { http?: { paths: { backend: { service: { name: string; port: { name?: string; number?: number } } } }[] } }[]) ?? []) {
        for (const path of rule.http?.paths ?? []) {
          const svc = findObject(objects, 'Service', path.backend.service.name);
          const port = path.backend.service.port;
          const ports = ((svc?.spec as { ports?: { name?: string; port: number }[] })?.ports ?? []).filter((p) => (port.name ? p.name === port.name : p.port === port.number));
          if (!svc || ports.length === 0) problems.push(`Ingress/${o.metadata.name}: backend ${path.backend.service.name}:${port.name ?? port.number} does not exist`);
        }
      }
    }
    if (o.kind === 'HorizontalPodAutoscaler') {
      const ref = spec?.scaleTargetRef as { kind: string; name: string };
      if (!findObject(objects, ref.kind, ref.name)) problems.push(`HorizontalPodAutoscaler/${o.metadata.name}: scales ${ref.kind}/${ref.name}, which is not in the rendering`);
    }
    if (o.kind === 'PodDisruptionBudget') {
      const sel = (spec?.selector as { matchLabels?: Record<string, string> })?.matchLabels;
      if (!all.some((w) => selects(sel, w.labels))) problems.push(`PodDisruptionBudget/${o.metadata.name}: selects no pods`);
    }
  }
  return problems;
}

/**
 * Commands: Patchwork containers run the image's entrypoint (`patchwork`) with a role that is a
 * real subcommand and flags it has, from the image's working directory.
 */
export function commandProblems(objects: K8sObject[], dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  const commands = cliCommands();
  for (const w of workloads(objects)) {
    for (const c of w.spec.containers) {
      if (!isPatchworkImage(c)) continue;
      if (c.command && JSON.stringify(c.command) !== JSON.stringify(dockerfile.entrypoint)) problems.push(`${where(w, c)}: command ${JSON.stringify(c.command)} replaces the image's entrypoint ${JSON.stringify(dockerfile.entrypoint)}`);
      const [sub, ...rest] = c.args ?? [];
      if (!sub || !commands.has(sub)) {
        problems.push(`${where(w, c)}: args ${JSON.stringify(c.args ?? [])} do not start with a patchwork command (${[...commands].join(', ')})`);
        continue;
      }
      if (sub !== 'gateway' && sub !== 'kernel') problems.push(`${where(w, c)}: \`patchwork ${sub}\` is not a server role (gateway, kernel)`);
      const flags = cliFlags(sub);
      for (const a of rest) {
        const flag = a.startsWith('--') ? a.split('=')[0] : undefined;
        if (flag && !flags.has(flag)) problems.push(`${where(w, c)}: \`patchwork ${sub}\` has no flag ${flag}`);
      }
      if (c.workingDir !== undefined && c.workingDir !== dockerfile.workdir) problems.push(`${where(w, c)}: workingDir ${c.workingDir} is not the image's WORKDIR ${dockerfile.workdir} (tsx reads tsconfig.json from the working directory)`);
    }
  }
  return problems;
}

function preStopSeconds(c: Container): number {
  const exec = c.lifecycle?.preStop?.exec?.command;
  if (exec?.[0] === 'sleep') return Number(exec[1]);
  return c.lifecycle?.preStop?.sleep?.seconds ?? 0;
}

/**
 * Shutdown: each pod's grace period outlasts what the process does after SIGTERM — the gateway's
 * preStop pause plus its own hard exit (2 x PATCHWORK_DRAIN_MS + 5 s, src/cli/commands/gateway.ts),
 * a kernel node's drain (PATCHWORK_KERNEL_DRAIN_TIMEOUT_MS), NATS's lame duck mode — and the
 * gateway pauses before SIGTERM so endpoints update first.
 */
export function lifecycleProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { w, c, role } of patchworkContainers(objects)) {
    const env = containerEnv(objects, c);
    const grace = w.spec.terminationGracePeriodSeconds ?? 30;
    const pause = preStopSeconds(c);
    const needed = role === 'gateway' ? pause + (2 * Number(effectiveSetting(role, env, 'PATCHWORK_DRAIN_MS')) + 5000) / 1000 : pause + Number(effectiveSetting(role, env, 'PATCHWORK_KERNEL_DRAIN_TIMEOUT_MS')) / 1000;
    if (!(grace > needed)) problems.push(`${where(w, c)}: terminationGracePeriodSeconds ${grace} does not outlast the shutdown (${needed} s)`);
    if (role === 'gateway' && pause < 1) problems.push(`${where(w, c)}: no preStop pause before SIGTERM: the Service would still send it requests while it drains`);
  }
  for (const { w, c, conf } of natsContainers(objects)) {
    const grace = w.spec.terminationGracePeriodSeconds ?? 30;
    const ldm = (conf.lameDuckSeconds ?? 120) + (conf.lameDuckGraceSeconds ?? 10);
    if (!(grace > ldm)) problems.push(`${where(w, c)}: terminationGracePeriodSeconds ${grace} does not outlast lame duck mode (${ldm} s)`);
    const cmd = c.lifecycle?.preStop?.exec?.command ?? [];
    const signal = cmd.join(' ');
    if (!/nats-server (--signal|-sl)[ =]ldm=/.test(signal)) problems.push(`${where(w, c)}: preStop does not put the server in lame duck mode (nats-server --signal ldm=PIDFILE)`);
    else if (!signal.endsWith(`ldm=${conf.pidFile}`)) problems.push(`${where(w, c)}: preStop signals ${signal}, but the server writes its pid to ${conf.pidFile}`);
  }
  return problems;
}

/** NATS containers (image `nats`) with their config, read from the ConfigMap mounted for --config. */
export function* natsContainers(objects: K8sObject[], problems: string[] = []): Generator<{ w: Workload; c: Container; conf: NatsConf; files: Record<string, string> }> {
  for (const w of workloads(objects)) {
    for (const c of w.spec.containers) {
      if (!/(^|\/)nats(:|@|$)/.test(c.image ?? '')) continue;
      const args = c.args ?? [];
      const i = args.findIndex((a) => a === '--config' || a === '-c');
      const path = i >= 0 ? args[i + 1] : undefined;
      const at = path ? mountOf(w, c, path) : undefined;
      const cm = at?.volume?.configMap ? findConfigMap(objects, at.volume.configMap.name) : undefined;
      const file = path && at ? path.slice(at.mount.mountPath.replace(/\/?$/, '/').length) : undefined;
      if (!cm?.data || !file || !(file in cm.data)) {
        problems.push(`${where(w, c)}: --config ${path ?? '(none)'} is not a file of a mounted ConfigMap`);
        continue;
      }
      yield { w, c, conf: readNatsConf(cm.data, file), files: cm.data };
    }
  }
}

/**
 * NATS: the container provides every `$VARIABLE` of its config (and nothing else), declares the
 * config's ports, keeps its store on the claimed volume, sized below it, and with more than one
 * replica routes to every replica by the names the headless Service gives them. The apps'
 * PATCHWORK_NATS_URL names the client Service, and their bucket replicas fit the cluster.
 */
export function natsProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { w, c, conf, files } of natsContainers(objects, problems)) {
    for (const inc of conf.includes) if (!(inc in files)) problems.push(`${where(w, c)}: the config includes ${inc}, which the ConfigMap lacks`);
    const env = new Set((c.env ?? []).map((e) => e.name));
    for (const v of conf.variables) if (!env.has(v)) problems.push(`${where(w, c)}: the config reads $${v}, which the container does not set`);
    for (const e of env) if (!conf.variables.has(e)) problems.push(`${where(w, c)}: ${e} is set but the config never reads $${e}`);
    const ports: Record<string, number | undefined> = { nats: conf.port ?? 4222, monitor: conf.httpPort, cluster: conf.cluster?.port ?? (w.replicas && w.replicas > 1 ? 6222 : undefined) };
    for (const [name, port] of Object.entries(ports)) {
      const got = c.ports?.find((p) => p.name === name)?.containerPort;
      if (port !== undefined && got !== port) problems.push(`${where(w, c)}: port ${name} is ${got ?? 'missing'}, the config says ${port}`);
    }
    const sts = w.object.spec as { serviceName?: string; volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[] };
    const storeMount = conf.storeDir ? (c.volumeMounts ?? []).find((m) => conf.storeDir === m.mountPath || conf.storeDir!.startsWith(m.mountPath + '/')) : undefined;
    const claim = sts.volumeClaimTemplates?.find((t) => t.metadata.name === storeMount?.name);
    if (!claim) problems.push(`${where(w, c)}: the JetStream store ${conf.storeDir ?? '(unset)'} is not on a volume claim template`);
    else {
      const size = bytes(claim.spec.resources.requests.storage) ?? 0;
      if (conf.maxFileStore === undefined || conf.maxFileStore > size) problems.push(`${where(w, c)}: max_file_store ${conf.maxFileStore ?? '(unset: the whole disk)'} exceeds the ${claim.spec.resources.requests.storage} volume`);
    }
    if (conf.pidFile && !mountOf(w, c, conf.pidFile)) problems.push(`${where(w, c)}: pid_file ${conf.pidFile} is not on a writable volume`);
    if (conf.serverName !== '$SERVER_NAME' || c.env?.find((e) => e.name === 'SERVER_NAME')?.valueFrom?.fieldRef?.fieldPath !== 'metadata.name') problems.push(`${where(w, c)}: server_name must be the pod name ($SERVER_NAME from metadata.name)`);
    const replicas = w.replicas ?? 1;
    if (w.kind !== 'StatefulSet') problems.push(`${where(w, c)}: NATS runs as a ${w.kind}, not a StatefulSet`);
    if ((w.object.spec as { podManagementPolicy?: string }).podManagementPolicy !== 'Parallel') problems.push(`${where(w, c)}: podManagementPolicy must be Parallel (servers start together to form the cluster)`);
    const headless = sts.serviceName ? findObject(objects, 'Service', sts.serviceName) : undefined;
    const hs = headless?.spec as { clusterIP?: string; publishNotReadyAddresses?: boolean } | undefined;
    if (!hs || hs.clusterIP !== 'None' || hs.publishNotReadyAddresses !== true) problems.push(`${where(w, c)}: serviceName ${sts.serviceName} must be a headless Service publishing not-ready addresses`);
    if (replicas > 1) {
      const want = Array.from({ length: replicas }, (_, i) => `nats://${w.name}-${i}.${sts.serviceName}:${conf.cluster?.port}`);
      const got = conf.cluster?.routes ?? [];
      if (JSON.stringify([...got].sort()) !== JSON.stringify(want)) problems.push(`${where(w, c)}: ${replicas} replicas need routes ${want.join(' ')}; the config has ${got.join(' ') || 'none'}`);
    } else if (conf.cluster) problems.push(`${where(w, c)}: one replica with a cluster block (JetStream would wait for peers that never come)`);
    // The apps connect to this NATS through its client Service, at most one bucket replica per server.
    for (const { w: aw, c: ac, role } of patchworkContainers(objects)) {
      const env = containerEnv(objects, ac);
      const url = env.get('PATCHWORK_NATS_URL')?.value ?? '';
      const m = /^nats:\/\/([^:/,]+):(\d+)$/.exec(url);
      const svc = m ? findObject(objects, 'Service', m[1]) : undefined;
      const svcPort = (svc?.spec as { ports?: { port: number; targetPort?: string | number }[] } | undefined)?.ports?.find((p) => p.port === Number(m?.[2]));
      const svcSel = (svc?.spec as { selector?: Record<string, string> } | undefined)?.selector;
      if (!svc || !svcPort || !selects(svcSel, w.labels)) problems.push(`${where(aw, ac)}: PATCHWORK_NATS_URL ${url} is not a Service port of the NATS pods`);
      const js = Number(effectiveSetting(role, env, 'PATCHWORK_JETSTREAM_REPLICAS'));
      if (js > replicas) problems.push(`${where(aw, ac)}: PATCHWORK_JETSTREAM_REPLICAS ${js} exceeds the ${replicas} NATS server(s)`);
    }
  }
  return problems;
}
