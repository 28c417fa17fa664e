// Validation rules that refuse expensive operations before anything runs: a depth cap (a deeply
// nested query is either a mistake or an attack; this schema has no cycles deeper than a few
// levels of real use) and a cost estimate (each field costs 1, times the page sizes of the lists
// around it; fields that read a job's history cost more). Fragments are followed and each is
// measured once per operation, so neither a fragment cycle (graphql's own NoFragmentCycles rule
// reports those) nor exponentially repeated spreads can make the check itself expensive.
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

/**
 * Walks an operation once. A fragment is measured once per operation and its (relative) depth
 * and cost reused at every spread: a "fragment bomb" — each fragment spreading the one before
 * twice, 2^40 fields in 1 kB of text — is then 40 small walks, not 2^40 (graphql's own execution
 * collects each fragment once per selection set, so only a naive estimate would blow up). The walk
 * also stops as soon as the depth or the cost is over its limit: the answer is "too big" either
 * way, and cost then stays a finite number.
 */
class Measurer {
  readonly #memo = new Map<string, Measure>();
  readonly #visiting = new Set<string>();

  constructor(
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown> | undefined,
    private readonly depthLimit: number,
    private readonly costLimit: number,
  ) {}

  /** Depth and cost of a selection set whose fields sit at `depth + 1`, relative to `depth`. */
  measure(set: SelectionSetNode, depth: number): Measure {
    let maxDepth = depth;
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name.startsWith('__')) continue; // introspection: graphql's MaxIntrospectionDepthRule bounds it
        const own = 1 + (FIELD_WEIGHT[name] ?? 0);
        maxDepth = Math.max(maxDepth, depth + 1);
        if (sel.selectionSet) {
          if (depth + 1 > this.depthLimit) return { depth: depth + 1, cost };
          const inner = this.measure(sel.selectionSet, depth + 1);
          maxDepth = Math.max(maxDepth, inner.depth);
          const times = name in PAGE_SIZES ? pageSize(sel, this.variables) : 1;
          cost += own + times * inner.cost;
        } else {
          cost += own;
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const inner = this.measure(sel.selectionSet, depth);
        maxDepth = Math.max(maxDepth, inner.depth);
        cost += inner.cost;
      } else {
        const inner = this.fragment(sel.name.value);
        maxDepth = Math.max(maxDepth, depth + inner.depth);
        cost += inner.cost;
      }
      if (maxDepth > this.depthLimit || cost > this.costLimit) break;
    }
    return { depth: maxDepth, cost: Math.min(cost, this.costLimit + 1) };
  }

  /** A fragment's depth (relative to where it is spread) and cost, computed once. */
  fragment(name: string): Measure {
    const known = this.#memo.get(name);
    if (known) return known;
    const frag = this.fragments.get(name);
    // Unknown fragments and cycles are graphql's own rules' to report; they add nothing here.
    if (!frag || this.#visiting.has(name)) return { depth: 0, cost: 0 };
    this.#visiting.add(name);
    const m = this.measure(frag.selectionSet, 0);
    this.#visiting.delete(name);
    this.#memo.set(name, m);
    return m;
  }
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
  costLimit = Number.MAX_SAFE_INTEGER,
): Measure {
  return new Measurer(fragments, variables, depthLimit, costLimit).measure(op.selectionSet, 0);
}

/** A validation rule (for Apollo's validationRules and graphql-ws) enforcing the limits. */
export function queryLimitsRule(limits: QueryLimits, variables?: () => Record<string, unknown> | undefined) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    return {
      OperationDefinition(op) {
        const m = measureOperation(op, fragments, variables?.(), limits.maxDepth + 1, limits.maxCost);
        if (m.depth > limits.maxDepth) {
          context.reportError(limitError('QUERY_TOO_DEEP', `the operation nests fields deeper than ${limits.maxDepth} levels; ask for less at once.`));
        } else if (m.cost > limits.maxCost) {
          context.reportError(limitError('QUERY_TOO_COSTLY', `the operation's estimated cost ${m.cost} is over the limit ${limits.maxCost}; ask for smaller pages (first) or fewer fields.`));
        }
      },
    };
  };
}
