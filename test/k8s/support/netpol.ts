// A small NetworkPolicy evaluator: given the rendered policies and pods, which connections
// would a conforming network plugin allow? It follows the Kubernetes semantics (a pod is
// isolated in a direction once any policy selecting it names that direction; a connection
// needs the sender's egress and the receiver's ingress to allow it; peers by pod selector,
// namespace selector, both, or IP block; ports by number, range or name resolved on the
// receiving pod). The test compares the result with the flows the design allows, exactly.
import type { K8sObject } from './render.ts';
import { workloads } from './workloads.ts';

interface Port {
  name?: string;
  port: number;
  protocol: string;
}

export interface Peer {
  /** Workload name, or a stand-in for the world outside. */
  id: string;
  namespace: string;
  labels: Record<string, string>;
  /** Ports it listens on. */
  ports: Port[];
  /** An address outside the pod network (matched by ipBlock only). */
  external?: boolean;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

interface Rule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}

interface Policy {
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  types: Set<string>;
  ingress: Rule[];
  egress: Rule[];
}

export function matches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function policies(objects: K8sObject[]): Policy[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((o) => {
      const spec = o.spec as { podSelector: LabelSelector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
      const types = new Set(spec.policyTypes ?? ['Ingress', ...(spec.egress ? ['Egress'] : [])]);
      return { name: o.metadata.name, namespace: o.metadata.namespace ?? 'default', podSelector: spec.podSelector, types, ingress: spec.ingress ?? [], egress: spec.egress ?? [] };
    });
}

export interface World {
  peers: Peer[];
  namespaceLabels: Record<string, Record<string, string>>;
}

/**
 * The rendered workloads plus stand-ins: the cluster DNS, an Ingress controller in its own
 * namespace, a stranger pod in Patchwork's namespace, and an address on the internet.
 */
export function worldOf(objects: K8sObject[]): World {
  const peers: Peer[] = workloads(objects).map((w) => ({
    id: w.name,
    namespace: w.namespace,
    labels: w.labels,
    ports: w.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => ({ name: p.name, port: p.containerPort, protocol: p.protocol ?? 'TCP' }))),
  }));
  const ns = objects.find((o) => o.kind === 'Namespace');
  const home = ns?.metadata.name ?? peers[0]?.namespace ?? 'default';
  peers.push(
    { id: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
    { id: 'ingress-controller', namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: [{ port: 443, protocol: 'TCP' }] },
    { id: 'stranger', namespace: home, labels: { run: 'debug' }, ports: [{ port: 8080, protocol: 'TCP' }] },
    { id: 'internet', namespace: '', labels: {}, ports: [{ port: 443, protocol: 'TCP' }], external: true },
  );
  return {
    peers,
    namespaceLabels: {
      [home]: { ...(ns?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': home },
      'kube-system': { 'kubernetes.io/metadata.name': 'kube-system' },
      'ingress-nginx': { 'kubernetes.io/metadata.name': 'ingress-nginx' },
    },
  };
}

function ipv4(cidrOrIp: string): { base: number; bits: number } {
  const [ip, bits] = cidrOrIp.split('/');
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return { base: n, bits: bits === undefined ? 32 : Number(bits) };
}

function inCidr(ip: string, cidr: string): boolean {
  if (cidr.includes(':')) return false;
  const { base, bits } = ipv4(cidr);
  const size = 2 ** (32 - bits);
  const n = ipv4(ip).base;
  return n >= Math.floor(base / size) * size && n < Math.floor(base / size) * size + size;
}

const INTERNET_IP = '203.0.113.7';
const POD_IP = '10.244.1.10';

function peerMatches(p: PolicyPeer, policyNs: string, peer: Peer, world: World): boolean {
  if (p.ipBlock) {
    const ip = peer.external ? INTERNET_IP : POD_IP;
    return inCidr(ip, p.ipBlock.cidr) && !(p.ipBlock.except ?? []).some((e) => inCidr(ip, e));
  }
  if (peer.external) return false;
  const nsOk = p.namespaceSelector ? matches(p.namespaceSelector, world.namespaceLabels[peer.namespace] ?? {}) : peer.namespace === policyNs;
  return nsOk && matches(p.podSelector, peer.labels);
}

function portMatches(rulePorts: PolicyPort[] | undefined, dst: Peer, port: Port, unresolved: Set<string>): boolean {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((rp) => {
    if ((rp.protocol ?? 'TCP') !== port.protocol) return false;
    if (rp.port === undefined) return true;
    if (typeof rp.port === 'number') return rp.endPort ? port.port >= rp.port && port.port <= rp.endPort : port.port === rp.port;
    const named = dst.ports.find((p) => p.name === rp.port && p.protocol === (rp.protocol ?? 'TCP'));
    if (!named && !dst.external && !['kube-dns', 'ingress-controller', 'stranger'].includes(dst.id)) unresolved.add(`port name ${rp.port} is not declared by ${dst.id}`);
    return named !== undefined && named.port === port.port;
  });
}

function allowedOneWay(direction: 'Ingress' | 'Egress', subject: Peer, other: Peer, dst: Peer, port: Port, ps: Policy[], world: World, unresolved: Set<string>): boolean {
  if (subject.external) return true;
  const selecting = ps.filter((p) => p.namespace === subject.namespace && p.types.has(direction) && matches(p.podSelector, subject.labels));
  if (selecting.length === 0) return true; // not isolated in this direction
  return selecting.some((p) =>
    (direction === 'Ingress' ? p.ingress : p.egress).some((r) => {
      const peers = direction === 'Ingress' ? r.from : r.to;
      const peerOk = !peers || peers.length === 0 || peers.some((x) => peerMatches(x, p.namespace, other, world));
      return peerOk && portMatches(r.ports, dst, port, unresolved);
    }),
  );
}

/** Every allowed connection as `src -> dst:port/PROTO`, and the named ports no pod declares. */
export function allowedFlows(objects: K8sObject[]): { flows: Set<string>; unresolved: string[] } {
  const world = worldOf(objects);
  const ps = policies(objects);
  const flows = new Set<string>();
  const unresolved = new Set<string>();
  for (const src of world.peers.filter((p) => !p.external)) {
    for (const dst of world.peers) {
      // Traffic between two outside stand-ins is none of these policies' business.
      if (src.namespace !== world.peers[0]?.namespace && dst.namespace !== world.peers[0]?.namespace) continue;
      for (const port of dst.ports) {
        const egress = allowedOneWay('Egress', src, dst, dst, port, ps, world, unresolved);
        const ingress = allowedOneWay('Ingress', dst, src, dst, port, ps, world, unresolved);
        if (egress && ingress) flows.add(`${src.id} -> ${dst.id}:${port.port}/${port.protocol}`);
      }
    }
  }
  return { flows, unresolved: [...unresolved] };
}

/**
 * The flows the design allows (issue 8): gateway -> NATS, kernel -> NATS, NATS <-> NATS routes,
 * gateway -> kernel gRPC, pods of other namespaces (an Ingress controller; the DNS stand-in
 * plays "any other pod") -> gateway HTTP, and DNS for every pod of the namespace. Nothing
 * else: not the internet, not a stranger pod in the namespace, not the probes' ports.
 */
export function expectedFlows(objects: K8sObject[]): Set<string> {
  const want = new Set<string>([
    'patchwork-gateway -> patchwork-nats:4222/TCP',
    'patchwork-kernel -> patchwork-nats:4222/TCP',
    'patchwork-nats -> patchwork-nats:6222/TCP',
    'patchwork-gateway -> patchwork-kernel:50051/TCP',
    'ingress-controller -> patchwork-gateway:4000/TCP',
    'kube-dns -> patchwork-gateway:4000/TCP',
  ]);
  for (const n of [...workloads(objects).map((w) => w.name), 'stranger']) {
    want.add(`${n} -> kube-dns:53/UDP`);
    want.add(`${n} -> kube-dns:53/TCP`);
  }
  return want;
}

export function networkProblems(objects: K8sObject[]): string[] {
  const { flows, unresolved } = allowedFlows(objects);
  const want = expectedFlows(objects);
  const problems = unresolved.map((u) => `NetworkPolicy: ${u}`);
  for (const f of flows) if (!want.has(f)) problems.push(`allowed but should not be: ${f}`);
  for (const f of want) if (!flows.has(f)) problems.push(`blocked but needed: ${f}`);
  return problems;
}
