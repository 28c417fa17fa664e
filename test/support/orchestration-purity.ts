// Walks the runtime import graph of orchestration modules and reports every way one of them
// reaches the world: a node: builtin, a package (NATS, gRPC, sharp... any bare specifier not on
// the allow list), a dynamic import or require, or a global that is I/O or non-deterministic
// (timers, fetch, process, Date.now, Math.random). Type-only imports (`import type`) are erased
// at runtime and not followed; `import { type X }` is not type-only under verbatimModuleSyntax
// (it leaves `import {} from`), so it counts as a runtime edge.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface PurityViolation {
  /** The module where the problem is, relative to the repository root. */
  file: string;
  /** How the scanned module reaches it: the chain of runtime imports. */
  via: string[];
  problem: string;
}

/** Packages an orchestration may use: pure computation only. */
export const ALLOWED_PACKAGES: ReadonlySet<string> = new Set(['zod']);

const FORBIDDEN_GLOBALS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'fetch', 'process', 'require', 'performance', 'crypto', 'globalThis', 'XMLHttpRequest', 'WebSocket']);
const builtins = new Set(builtinModules);

function listModules(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listModules(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

interface ModuleFacts {
  imports: Array<{ specifier: string; typeOnly: boolean }>;
  problems: string[];
}

function factsOf(file: string): ModuleFacts {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const facts: ModuleFacts = { imports: [], problems: [] };
  const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      facts.imports.push({ specifier: node.moduleSpecifier.text, typeOnly: !!node.importClause?.isTypeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      facts.imports.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isImportEqualsDeclaration(node)) {
      facts.problems.push(`line ${line(node)}: import = require(...)`);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      facts.problems.push(`line ${line(node)}: dynamic import()`);
    } else if (ts.isIdentifier(node) && FORBIDDEN_GLOBALS.has(node.text) && isGlobalReference(node)) {
      facts.problems.push(`line ${line(node)}: uses global '${node.text}'`);
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const what = `${node.expression.text}.${node.name.text}`;
      if (what === 'Date.now' || what === 'Math.random') facts.problems.push(`line ${line(node)}: calls ${what} (use ctx.now() / ctx.random())`);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date' && (node.arguments?.length ?? 0) === 0) {
      facts.problems.push(`line ${line(node)}: new Date() reads the clock (use ctx.now())`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return facts;
}

/** An identifier used as a value, not a property name, a declaration or a type. */
function isGlobalReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if (ts.isPropertyAssignment(p) && p.name === id) return false;
  if ((ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodSignature(p)) && p.name === id) return false;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isBindingElement(p)) && p.name === id) return false;
  if (ts.isTypeReferenceNode(p) || ts.isQualifiedName(p)) return false;
  return true;
}

function resolveLocal(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return undefined;
}

/**
 * Checks every module under `dir` (and everything it imports at runtime, transitively).
 * Returns the violations; an empty list means the folder is pure.
 */
export function findImpurity(dir: string, repoRoot: string): PurityViolation[] {
  const violations: PurityViolation[] = [];
  const seen = new Map<string, ModuleFacts>();
  const rel = (f: string) => relative(repoRoot, f);
  const walk = (file: string, via: string[]): void => {
    if (via.includes(file)) return;
    let facts = seen.get(file);
    const first = !facts;
    if (!facts) seen.set(file, (facts = factsOf(file)));
    const chain = [...via, file].map(rel);
    if (first) for (const problem of facts.problems) violations.push({ file: rel(file), via: chain, problem });
    for (const imp of facts.imports) {
      if (imp.typeOnly) continue;
      const s = imp.specifier;
      if (s.startsWith('.') || s.startsWith('/')) {
        const target = resolveLocal(file, s);
        if (!target) violations.push({ file: rel(file), via: chain, problem: `imports '${s}', which does not resolve` });
        else if (first) walk(target, [...via, file]);
        continue;
      }
      const pkg = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0];
      if (s.startsWith('node:') || builtins.has(pkg)) violations.push({ file: rel(file), via: chain, problem: `imports the Node builtin '${s}'` });
      else if (!ALLOWED_PACKAGES.has(pkg)) violations.push({ file: rel(file), via: chain, problem: `imports the package '${s}' (not on the allow list of pure packages)` });
    }
  };
  for (const f of listModules(dir)) walk(f, []);
  return violations;
}
