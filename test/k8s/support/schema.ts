// Validates rendered objects against the Kubernetes schemas of the kubernetes-models package, in
// two passes:
//  1. each object is built with its model class (kubernetes-models/<group>/<version>/<Kind>) and
//     `.validate()`d: types, enums, required fields, formats;
//  2. unknown fields, which those validators let through (their JSON schemas allow additional
//     properties): every key of the object is looked up in the model's TypeScript interface,
//     walked with the TypeScript compiler's type checker. The interfaces are generated from the
//     same OpenAPI document as the validators, so a typo such as `readinesProbe` or a field put
//     at the wrong level fails here as it would in `kubectl apply --validate=strict`.
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot, type K8sObject } from './render.ts';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** `apps/v1` + `Deployment` → `kubernetes-models/apps/v1/Deployment` (core `v1` → `kubernetes-models/v1/...`). */
export function modelModule(apiVersion: string, kind: string): string {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    throw new Error(`not a Kubernetes apiVersion/kind: ${apiVersion} ${kind}`);
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function modelClass(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  try {
    const mod = (await import(modelModule(apiVersion, kind))) as Record<string, unknown>;
    return mod[kind] as ModelClass | undefined;
  } catch {
    return undefined;
  }
}

/** One TypeScript program holding the model interfaces of every kind asked for. */
class InterfaceIndex {
  readonly #checker: ts.TypeChecker;
  readonly #types = new Map<string, ts.Type>();

  constructor(kinds: { apiVersion: string; kind: string }[]) {
    const unique = [...new Map(kinds.map((k) => [`${k.apiVersion} ${k.kind}`, k])).values()];
    const file = join(repoRoot, '__k8s_schema_probe__.ts');
    const text = unique.map((k, i) => `import type { I${k.kind} as T${i} } from '${modelModule(k.apiVersion, k.kind)}';\nexport type K${i} = T${i};`).join('\n');
    const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, onError, create) => (name === file ? ts.createSourceFile(file, text, lang) : getSourceFile(name, lang, onError, create));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === file || fileExists(name);
    const program = ts.createProgram([file], options, host);
    const broken = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
    if (broken.length > 0) {
      throw new Error(`the kubernetes-models interfaces did not resolve: ${ts.flattenDiagnosticMessageText(broken[0].messageText, '\n')}`);
    }
    this.#checker = program.getTypeChecker();
    const source = program.getSourceFile(file)!;
    const exports = this.#checker.getExportsOfModule(this.#checker.getSymbolAtLocation(source)!);
    unique.forEach((k, i) => {
      const sym = exports.find((s) => s.name === `K${i}`)!;
      this.#types.set(`${k.apiVersion} ${k.kind}`, this.#checker.getDeclaredTypeOfSymbol(sym));
    });
  }

  unknownFields(obj: K8sObject): string[] {
    const type = this.#types.get(`${obj.apiVersion} ${obj.kind}`);
    if (!type) return [`no interface for ${obj.apiVersion} ${obj.kind}`];
    const problems: string[] = [];
    this.#walk(obj, type, '', problems);
    return problems;
  }

  #walk(value: unknown, declared: ts.Type, path: string, problems: string[]): void {
    if (value === null || value === undefined) return;
    const type = this.#checker.getNonNullableType(declared);
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (Array.isArray(value)) {
      const element = this.#checker.getIndexInfoOfType(type, ts.IndexKind.Number)?.type;
      if (element) value.forEach((v, i) => this.#walk(v, element, `${path}[${i}]`, problems));
      return; // not an array type: validate() reports the type error
    }
    if (typeof value !== 'object') return;
    const candidates = (type.isUnion() ? type.types : [type]).filter((t) => t.flags & ts.TypeFlags.Object);
    if (candidates.length === 0) return;
    // A union of object shapes: the member the value fits best.
    let best: string[] | undefined;
    for (const t of candidates) {
      const found: string[] = [];
      this.#walkObject(value as Record<string, unknown>, t, path, found);
      if (!best || found.length < best.length) best = found;
      if (found.length === 0) break;
    }
    problems.push(...(best ?? []));
  }

  #walkObject(value: Record<string, unknown>, type: ts.Type, path: string, problems: string[]): void {
    const index = this.#checker.getIndexInfoOfType(type, ts.IndexKind.String);
    for (const [key, v] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      const prop = this.#checker.getPropertyOfType(type, key);
      if (prop) this.#walk(v, this.#checker.getTypeOfSymbol(prop), at, problems);
      else if (index) this.#walk(v, index.type, at, problems);
      else problems.push(`${at}: unknown field (${this.#checker.typeToString(type)} has no "${key}")`);
    }
  }
}

// Building the program takes a second or two: one per process, rebuilt only for new kinds.
let shared: { keys: Set<string>; index: InterfaceIndex; kinds: { apiVersion: string; kind: string }[] } | undefined;
function interfaceIndex(objects: K8sObject[]): InterfaceIndex {
  const wanted = objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind }));
  if (shared && wanted.every((k) => shared!.keys.has(`${k.apiVersion} ${k.kind}`))) return shared.index;
  const kinds = [...(shared?.kinds ?? []), ...wanted];
  shared = { keys: new Set(kinds.map((k) => `${k.apiVersion} ${k.kind}`)), index: new InterfaceIndex(kinds), kinds };
  return shared.index;
}

function describe(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.name ?? '?'}`;
}

/**
 * Every problem with `objects` against the Kubernetes schemas, as `Kind/name: message` lines;
 * empty when all are valid.
 */
export async function schemaProblems(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  const known: K8sObject[] = [];
  for (const o of objects) {
    const Cls = await modelClass(o.apiVersion, o.kind);
    if (!Cls) {
      problems.push(`${describe(o)}: no Kubernetes schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Cls(o).validate();
    } catch (err) {
      problems.push(`${describe(o)}: ${(err as Error).message}`);
    }
    known.push(o);
  }
  if (known.length > 0) {
    const index = interfaceIndex(known);
    for (const o of known) for (const p of index.unknownFields(o)) problems.push(`${describe(o)}: ${p}`);
  }
  return problems;
}
