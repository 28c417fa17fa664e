// The gateway's error vocabulary. Every failure a client sees carries `extensions.code` from a
// small fixed set, so clients branch on the code, never on message text:
//   BAD_USER_INPUT, NOT_FOUND, UNAUTHENTICATED, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE,
//   RATE_LIMITED, INTERNAL_SERVER_ERROR
// Codes from deeper layers (CodedError of src/common and the job service, KernelError codes such
// as BAD_MASK_SIZE) are mapped onto this set and kept in `extensions.reason`.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';

export const ErrorCode = {
  badUserInput: 'BAD_USER_INPUT',
  notFound: 'NOT_FOUND',
  unauthenticated: 'UNAUTHENTICATED',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  rateLimited: 'RATE_LIMITED',
  internal: 'INTERNAL_SERVER_ERROR',
} as const;

export type GatewayErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Record<GatewayErrorCode, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
};

export function httpStatusOf(code: GatewayErrorCode): number {
  return HTTP_STATUS[code];
}

/** Codes of lower layers that mean "the caller's input is wrong". */
const INPUT_REASONS = new Set([
  'BAD_USER_INPUT',
  'INVALID_ARGUMENT',
  'INVALID_ID',
  'INVALID_BLOB_ID',
  'BAD_IMAGE',
  'BAD_MASK',
  'BAD_MASK_SIZE',
  'EMPTY_SOURCE',
  'BAD_OPTION',
  'BAD_DATA',
  'BAD_REQUEST',
  'BAD_CURSOR',
  'INVALID_STATE',
  'JOB_FINISHED',
  'CONFLICT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COSTLY',
]);
const NOT_FOUND_REASONS = new Set(['NOT_FOUND', 'JOB_NOT_FOUND', 'UPLOAD_NOT_FOUND', 'INSTANCE_NOT_FOUND', 'BLOB_NOT_FOUND']);
const SAME_CODES = new Set<string>(Object.values(ErrorCode));

/** The gateway code for a lower layer's code. */
export function gatewayCodeFor(code: string | undefined): GatewayErrorCode {
  if (!code) return ErrorCode.internal;
  if (SAME_CODES.has(code)) return code as GatewayErrorCode;
  if (NOT_FOUND_REASONS.has(code)) return ErrorCode.notFound;
  if (INPUT_REASONS.has(code)) return ErrorCode.badUserInput;
  if (code === 'TOO_MANY_JOBS' || code === 'QUOTA_EXCEEDED') return ErrorCode.rateLimited;
  return ErrorCode.internal;
}

/** A GraphQL error with one of the gateway codes (and the HTTP status Apollo should answer with). */
export function gatewayError(code: GatewayErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra, http: { status: httpStatusOf(code) } } });
}

export function notFound(what: string, id: string): GraphQLError {
  return gatewayError(ErrorCode.notFound, `${what} '${id}' not found.`);
}

interface CodeCarrier {
  code?: unknown;
  message?: unknown;
  details?: unknown;
}

/**
 * Shapes any error for a client. `production` hides messages of unexpected errors and every
 * stack trace; coded errors keep their message (it says how to fix the input).
 */
export function formatGatewayError(formatted: GraphQLFormattedError, error: unknown, production: boolean): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const ext = { ...(formatted.extensions ?? {}) };
  delete ext.stacktrace;
  delete ext.http;
  const current = typeof ext.code === 'string' ? ext.code : undefined;
  let message = formatted.message;
  const carrier = (original && typeof original === 'object' ? original : {}) as CodeCarrier;
  // A CodedError / KernelError from the job service is mapped by its own code; a GraphQLError by
  // its extensions.code (Apollo's GRAPHQL_PARSE_FAILED etc. become BAD_USER_INPUT).
  const lowerCode = !(original instanceof GraphQLError) && typeof carrier.code === 'string' ? carrier.code : undefined;
  const code = gatewayCodeFor(lowerCode ?? current);
  let reason: string | undefined = lowerCode ?? (typeof ext.reason === 'string' ? ext.reason : current && !SAME_CODES.has(current) ? current : undefined);
  if (code === ErrorCode.internal) {
    if (production) message = 'Internal server error';
    reason = undefined;
  }
  const extensions: Record<string, unknown> = { ...ext, code };
  if (reason && reason !== code) extensions.reason = reason;
  if (!production && code === ErrorCode.internal && original instanceof Error && original.stack) {
    extensions.stacktrace = original.stack.split('\n');
  }
  return { ...formatted, message, extensions };
}

/** The JSON body of a non-GraphQL endpoint's error (uploads, blobs). */
export function restError(code: GatewayErrorCode | 'REQUEST_TIMEOUT', message: string, reason?: string): { error: { code: string; message: string; reason?: string } } {
  return { error: { code, message, ...(reason ? { reason } : {}) } };
}
