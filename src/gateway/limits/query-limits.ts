// Validation rules that refuse expensive operations before anything runs: a depth cap (a deeply
// nested query is either a mistake or an attack; this schema has no cycles deeper than a few
// levels of real use) and a cost estimate (each field costs 1, times the page sizes of the lists
// around it; fields that read a job's history cost more). Fragments are followed, each fragment
// at most once per path, so a fragment cycle cannot hang the check (graphql's own NoFragmentCycles
// rule reports those).
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';

/** Extra weight of fields that do I/O beyond the job record itself. */
const FIELD_WEIGHT: Record<string, number> = { history: 10, kernelNodes: 5 };
/** Fields whose `first` argument multiplies the cost of what they select: default and largest page. */
export const PAGE_SIZES: Record<string, { default: number; max: number }> = {
  jobs: { default: 20, max: 100 },
  history: { default: 50, max: 100 },
};

function limitError(reason: 'QUERY_TOO_DEEP' | 'QUERY_TOO_COSTLY', message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', reason } });
}

/** The page size a list field asks for; a variable counts as the largest page (validation runs once per document). */
function pageSize(field: FieldNode, variables: Record<string, unknown> | undefined): number {
  const sizes = PAGE_SIZES[field.name.value];
  const arg = field.arguments?.find((a) => a.name.value === 'first');
  if (!arg) return sizes.default;
  const v: ValueNode = arg.value;
  if (v.kind === Kind.INT) return Math.min(sizes.max, Math.max(1, Number(v.value)));
  if (v.kind === Kind.VARIABLE) {
    const value = variables?.[v.name.value];
    if (typeof value === 'number' && Number.isFinite(value)) return Math.min(sizes.max, Math.max(1, Math.floor(value)));
  }
  return sizes.max;
}

interface Measure {
  depth: number;
  cost: number;
}

function measure(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown> | undefined,
  visiting: Set<string>,
  depthLimit: number,
  depth: number,
): Measure {
  let maxDepth = depth;
  let cost = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      const name = sel.name.value;
      if (name.startsWith('__')) continue; // introspection: bounded by the schema
      const own = 1 + (FIELD_WEIGHT[name] ?? 0);
      if (sel.selectionSet) {
        if (depth + 1 > depthLimit) return { depth: depth + 1, cost };
        maxDepth = Math.max(maxDepth, depth + 1);
        const inner = measure(sel.selectionSet, fragments, variables, visiting, depthLimit, depth + 1);
        maxDepth = Math.max(maxDepth, inner.depth);
        const times = name in PAGE_SIZES ? pageSize(sel, variables) : 1;
        cost += own + times * inner.cost;
      } else {
        maxDepth = Math.max(maxDepth, depth + 1);
        cost += own;
      }
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const inner = measure(sel.selectionSet, fragments, variables, visiting, depthLimit, depth);
      maxDepth = Math.max(maxDepth, inner.depth);
      cost += inner.cost;
    } else {
      const name = sel.name.value;
      const frag = fragments.get(name);
      if (!frag || visiting.has(name)) continue;
      visiting.add(name);
      const inner = measure(frag.selectionSet, fragments, variables, visiting, depthLimit, depth);
      visiting.delete(name);
      maxDepth = Math.max(maxDepth, inner.depth);
      cost += inner.cost;
    }
    if (maxDepth > depthLimit) break;
  }
  return { depth: maxDepth, cost };
}

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

/** Measures one operation: its deepest field (top-level fields are depth 1) and estimated cost. */
export function measureOperation(
  op: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown> | undefined,
  depthLimit = Number.MAX_SAFE_INTEGER,
): Measure {
  return measure(op.selectionSet, fragments, variables, new Set(), depthLimit, 0);
}

/** A validation rule (for Apollo's validationRules and graphql-ws) enforcing the limits. */
export function queryLimitsRule(limits: QueryLimits, variables?: () => Record<string, unknown> | undefined) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    return {
      OperationDefinition(op) {
        const m = measureOperation(op, fragments, variables?.(), limits.maxDepth + 1);
        if (m.depth > limits.maxDepth) {
          context.reportError(limitError('QUERY_TOO_DEEP', `the operation nests fields deeper than ${limits.maxDepth} levels; ask for less at once.`));
        } else if (m.cost > limits.maxCost) {
          context.reportError(limitError('QUERY_TOO_COSTLY', `the operation's estimated cost ${m.cost} is over the limit ${limits.maxCost}; ask for smaller pages (first) or fewer fields.`));
        }
      },
    };
  };
}
