// Helpers for the bad fixtures: a deep copy of a real rendering with one thing broken, so each
// check is seen to fail on exactly the mistake it exists for.
import { allTargets, clone, findConfigMap, findObject, type K8sObject } from './render.ts';
import { workload, type Container, type PodSpec } from './workloads.ts';

export function rendering(name: string): K8sObject[] {
  const t = allTargets().find((x) => x.name === name);
  if (!t) throw new Error(`no rendering ${name}`);
  return clone(t.objects);
}

export function configData(objects: K8sObject[], base: string): Record<string, string> {
  const cm = findConfigMap(objects, base);
  if (!cm?.data) throw new Error(`no ConfigMap ${base}`);
  return cm.data;
}

export function podSpec(objects: K8sObject[], name: string): PodSpec {
  return workload(objects, name).spec;
}

export function container(objects: K8sObject[], name: string, index = 0): Container {
  return podSpec(objects, name).containers[index];
}

export function object(objects: K8sObject[], kind: string, name: string): K8sObject & { spec: Record<string, unknown> } {
  const o = findObject(objects, kind, name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  return o as K8sObject & { spec: Record<string, unknown> };
}

/** Asserts-friendly: does any problem match? */
export function reports(problems: string[], re: RegExp): boolean {
  return problems.some((p) => re.test(p));
}
