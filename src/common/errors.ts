// Errors with a stable code, a retryable flag and a message that says how to fix the problem.
// Every boundary in Patchwork (GraphQL, gRPC, the actor runtime) maps failures to one of these,
// so callers branch on `code`, never on message text.

export interface CodedErrorOptions {
  /** True when trying the same operation again may succeed (a timeout, a lost connection). */
  retryable?: boolean;
  cause?: unknown;
  /** Small, serialisable facts about the failure (ids, sequences, limits). */
  details?: Record<string, unknown>;
}

export class CodedError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CodedError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** The plain, serialisable form of an error, as stored in histories and sent over the wire. */
export interface ErrorInfo {
  code: string;
  message: string;
  retryable: boolean;
  name?: string;
  details?: Record<string, unknown>;
}

export function isCodedError(err: unknown): err is CodedError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && typeof (err as { retryable?: unknown }).retryable === 'boolean';
}

/**
 * Describes any thrown value as ErrorInfo. Errors without a code get `fallbackCode` and are
 * treated as retryable: an unexpected exception is more often a passing fault than a verdict.
 */
export function toErrorInfo(err: unknown, fallbackCode = 'INTERNAL'): ErrorInfo {
  if (isCodedError(err)) {
    const info: ErrorInfo = { code: err.code, message: err.message, retryable: err.retryable, name: err.name };
    if (err.details) info.details = err.details;
    return info;
  }
  if (err instanceof Error) {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as unknown as { code: string }).code : fallbackCode;
    return { code, message: err.message, retryable: true, name: err.name };
  }
  return { code: fallbackCode, message: String(err), retryable: true };
}
