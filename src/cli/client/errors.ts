// Errors of the CLI client, each with the code the gateway gave (extensions.code, and the precise
// `reason` when there is one) or one of our own for local problems, and the exit code it means:
// 2 when the user can fix the input (a bad file, a bad option, an unknown job, a wrong token),
// 1 for everything else (the gateway unreachable, an internal error).
import { EXIT_BAD_INPUT, EXIT_FAILURE } from '../exit-codes.ts';

/** GraphQL and HTTP error codes of the gateway that mean "change your input". */
const BAD_INPUT_CODES = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'UNAUTHENTICATED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);

/** Local codes that mean the same: a file we cannot read or write, an option we refuse. */
const LOCAL_BAD_INPUT_CODES = new Set(['INPUT_FILE', 'OUTPUT_FILE', 'BAD_OPTION']);

/** Codes a job can fail with because of its input (the kernel's KernelErrorCode values). */
const JOB_INPUT_ERROR_CODES = new Set(['BAD_IMAGE', 'BAD_MASK', 'BAD_MASK_SIZE', 'EMPTY_SOURCE', 'BAD_OPTION', 'BAD_USER_INPUT']);

export class ClientError extends Error {
  readonly code: string;
  readonly reason: string | undefined;

  constructor(code: string, message: string, reason?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClientError';
    this.code = code;
    this.reason = reason;
  }

  /** The process exit code this error means. */
  get exitCode(): number {
    return BAD_INPUT_CODES.has(this.code) || LOCAL_BAD_INPUT_CODES.has(this.code) ? EXIT_BAD_INPUT : EXIT_FAILURE;
  }

  /** `CODE (REASON): message`, the form printed to the terminal. */
  describe(): string {
    return `${this.code}${this.reason && this.reason !== this.code ? ` (${this.reason})` : ''}: ${this.message}`;
  }

  toJSON(): { code: string; reason?: string; message: string } {
    return { code: this.code, ...(this.reason ? { reason: this.reason } : {}), message: this.message };
  }
}

/** A job that ended FAILED: exit 2 when its input was at fault, else 1. */
export class JobFailedError extends ClientError {
  constructor(jobId: string, code: string, message: string) {
    super(code, `job ${jobId} failed: ${message}`);
    this.name = 'JobFailedError';
  }

  override get exitCode(): number {
    return JOB_INPUT_ERROR_CODES.has(this.code) ? EXIT_BAD_INPUT : EXIT_FAILURE;
  }
}
