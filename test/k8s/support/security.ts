// Checks every pod against the "restricted" Pod Security Standard (the namespace enforces it)
// and the house rules on top: read-only root filesystems with a writable temp dir for tsx's
// cache, resources on every container, no Kubernetes API token, the image's own user.
import { containerRole, type Dockerfile } from './code-tables.ts';
import type { K8sObject } from './render.ts';
import { allContainers, containerEnv, cpuCores, workloads } from './workloads.ts';

/** Volume sources the restricted profile allows. */
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

export function securityProblems(objects: K8sObject[], dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  const imageUid = Number(dockerfile.user?.split(':')[0]);
  for (const w of workloads(objects)) {
    const pod = w.spec;
    const name = `${w.kind}/${w.name}`;
    const psc = (pod.securityContext ?? {}) as { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${name}: uses the host's network, PID or IPC namespace`);
    if (pod.automountServiceAccountToken !== false) problems.push(`${name}: mounts a Kubernetes API token (set automountServiceAccountToken: false; nothing here calls the API)`);
    if (!pod.serviceAccountName || pod.serviceAccountName === 'default') problems.push(`${name}: runs as the namespace's default service account`);
    for (const v of pod.volumes ?? []) {
      const source = Object.keys(v).find((k) => k !== 'name');
      if (!source || !RESTRICTED_VOLUMES.has(source)) problems.push(`${name}: volume ${v.name} of type ${source} is not allowed by the restricted profile`);
    }
    for (const c of allContainers(pod)) {
      const at = `${name} container ${c.name}`;
      const sc = (c.securityContext ?? {}) as {
        runAsNonRoot?: boolean;
        runAsUser?: number;
        allowPrivilegeEscalation?: boolean;
        readOnlyRootFilesystem?: boolean;
        privileged?: boolean;
        capabilities?: { drop?: string[]; add?: string[] };
        seccompProfile?: { type?: string };
      };
      if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
      const uid = sc.runAsUser ?? psc.runAsUser;
      if (uid === 0) problems.push(`${at}: runs as root (uid 0)`);
      if (sc.privileged) problems.push(`${at}: privileged`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: the root filesystem is writable`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${at}: capabilities are not all dropped`);
      if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities ${sc.capabilities!.add!.join(', ')}`);
      const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${at}: seccomp profile ${seccomp ?? 'unset'} (use RuntimeDefault)`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) problems.push(`${at}: no ${r} ${kind}`);
      }
      const role = containerRole(c);
      if (role) {
        if (uid !== imageUid) problems.push(`${at}: runs as uid ${uid}, the image's user is ${dockerfile.user}`);
        // tsx writes its transform cache under os.tmpdir(): it must be a writable volume.
        const tmp = containerEnv(objects, c).get('TMPDIR')?.value ?? '/tmp';
        const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === tmp);
        const vol = mount && (pod.volumes ?? []).find((v) => v.name === mount.name);
        if (!vol?.emptyDir || mount?.readOnly) problems.push(`${at}: the temp dir ${tmp} (tsx's cache) is not a writable emptyDir on a read-only root`);
        if (role === 'kernel') {
          const workers = (c.env ?? []).find((e) => e.name === 'PATCHWORK_KERNEL_WORKERS');
          const ref = workers?.valueFrom?.resourceFieldRef;
          const fixed = workers?.value !== undefined ? Number(workers.value) : undefined;
          const limit = cpuCores(c.resources?.limits?.cpu);
          if (!(ref?.resource === 'limits.cpu' || (fixed !== undefined && limit !== undefined && fixed <= Math.ceil(limit)))) {
            problems.push(`${at}: PATCHWORK_KERNEL_WORKERS is not tied to the CPU limit (${workers?.value ?? 'unset'} workers, limit ${c.resources?.limits?.cpu ?? 'none'})`);
          }
        }
      }
    }
  }
  const ns = objects.find((o) => o.kind === 'Namespace');
  if (ns && ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') problems.push(`Namespace/${ns.metadata.name}: does not enforce the restricted Pod Security Standard`);
  return problems;
}
