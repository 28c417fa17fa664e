// Prepares a graphql-ws `subscribe` message for execution the way Apollo prepares an HTTP
// request: parse, validate (graphql's rules and the depth/cost limits), pick the operation,
// coerce the variables — and answer every failure with an error frame carrying
// BAD_USER_INPUT and a reason, on a connection that stays open.
// Left to itself, graphql-ws parses inside its message handler: a syntax error (or a parser
// stack overflow on deeply nested text) throws there and closes the whole socket with 4500
// "Internal server error", and validation or variable errors reach the client without a code.
// Text nested deeper than limits/nesting.ts allows is refused before parsing (QUERY_TOO_DEEP).
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { ErrorCode } from './errors.ts';
import { MAX_NESTING, nestsTooDeep } from './limits/nesting.ts';

export interface WsPayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

function inputError(message: string, reason: string, original?: GraphQLError): GraphQLError {
  return new GraphQLError(message, { nodes: original?.nodes, source: original?.source, positions: original?.positions, extensions: { ...original?.extensions, code: ErrorCode.badUserInput, reason: original?.extensions?.reason ?? reason } });
}

/** Execution arguments for a valid operation, or the errors to send back (all BAD_USER_INPUT). */
export function prepareWsOperation(schema: GraphQLSchema, payload: WsPayload, rules: readonly ValidationRule[]): ExecutionArgs | GraphQLError[] {
  if (nestsTooDeep(payload.query)) return [inputError(`the operation nests brackets deeper than ${MAX_NESTING} levels.`, 'QUERY_TOO_DEEP')];
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (err) {
    // A GraphQLError names the syntax problem; anything else (RangeError: the parser recursed too
    // deep) says only that the text cannot be read.
    const message = err instanceof GraphQLError ? err.message : 'the operation cannot be parsed (nested too deeply?).';
    return [inputError(message, 'GRAPHQL_PARSE_FAILED', err instanceof GraphQLError ? err : undefined)];
  }
  let invalid: readonly GraphQLError[];
  try {
    invalid = validate(schema, document, [...specifiedRules, ...rules]);
  } catch (err) {
    // A rule that recurses (graphql's MaxIntrospectionDepthRule does) on a pathological document.
    if (err instanceof RangeError) return [inputError('the operation is too complex to check.', 'QUERY_TOO_DEEP')];
    throw err;
  }
  if (invalid.length) return invalid.map((e) => inputError(e.message, 'GRAPHQL_VALIDATION_FAILED', e));
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) {
    const message = payload.operationName ? `no operation named '${payload.operationName}' in the document.` : 'the document has several operations: name one in operationName.';
    return [inputError(message, 'OPERATION_RESOLUTION_FAILURE')];
  }
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
  if (coerced.errors) return coerced.errors.map((e) => inputError(e.message, 'BAD_USER_INPUT', e));
  return { schema, document, operationName: payload.operationName ?? undefined, variableValues: payload.variables ?? {} };
}
