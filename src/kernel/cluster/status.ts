// Errors across the gRPC boundary. A node answers every failure with a gRPC status whose code
// tells the client what to do (retry here, go elsewhere, give up) and with trailing metadata
// carrying the Patchwork error code and retryable flag; the client turns it back into a
// CodedError, so callers branch on `code` on both sides of the wire.
import { Metadata, status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { CodedError, isCodedError } from '../../common/errors.ts';
import { isTransient } from '../../common/nats.ts';
import { isKernelError } from '../errors.ts';

export const CODE_HEADER = 'pw-code';
export const RETRYABLE_HEADER = 'pw-retryable';

/** Codes the node itself raises (besides the kernel's KernelError codes). */
export const NodeErrorCode = {
  /** The node's queue is full: try later or another node. */
  busy: 'KERNEL_BUSY',
  /** The node is shutting down: go to another node. */
  draining: 'KERNEL_DRAINING',
  /** The request does not fit the job's plan or its steps' order (a caller bug). */
  badStep: 'BAD_STEP',
  /** A request field is missing or malformed. */
  badRequest: 'BAD_REQUEST',
} as const;

const INPUT_CODES = new Set(['BAD_IMAGE', 'BAD_MASK', 'BAD_MASK_SIZE', 'EMPTY_SOURCE', 'BAD_OPTION', 'BAD_DATA', 'INVALID_BLOB_ID', NodeErrorCode.badRequest]);

function grpcCodeFor(code: string, retryable: boolean): Status {
  if (INPUT_CODES.has(code)) return Status.INVALID_ARGUMENT;
  if (code === NodeErrorCode.busy) return Status.RESOURCE_EXHAUSTED;
  if (code === NodeErrorCode.draining) return Status.UNAVAILABLE;
  if (code === NodeErrorCode.badStep) return Status.FAILED_PRECONDITION;
  if (code === 'BLOB_NOT_FOUND') return Status.NOT_FOUND;
  if (code === 'BLOB_CORRUPT') return Status.DATA_LOSS;
  return retryable ? Status.UNAVAILABLE : Status.INTERNAL;
}

/** The status a node sends for `err`. */
export function toStatus(err: unknown): Partial<StatusObject> {
  let code: string;
  let message: string;
  let retryable: boolean;
  if (isKernelError(err)) {
    code = err.code;
    message = err.message;
    retryable = false;
  } else if (isCodedError(err)) {
    code = err.code;
    message = err.message;
    retryable = err.retryable;
  } else if (isTransient(err)) {
    code = 'NATS_UNAVAILABLE';
    message = `the node lost its NATS connection: ${(err as Error).message}`;
    retryable = true;
  } else {
    code = 'INTERNAL';
    message = err instanceof Error ? err.message : String(err);
    retryable = true;
  }
  const metadata = new Metadata();
  metadata.set(CODE_HEADER, code);
  metadata.set(RETRYABLE_HEADER, retryable ? '1' : '0');
  return { code: grpcCodeFor(code, retryable), details: message, metadata };
}

export function grpcStatusName(code: number): string {
  return (Object.entries(Status).find(([, v]) => v === code)?.[0] as string | undefined) ?? String(code);
}

/** A client-side CodedError for a failed call; `details.grpcStatus` keeps the gRPC code. */
export function fromServiceError(e: ServiceError, node: string): CodedError {
  const md = e.metadata?.get(CODE_HEADER)?.[0];
  const rt = e.metadata?.get(RETRYABLE_HEADER)?.[0];
  const grpcStatus = grpcStatusName(e.code);
  const details = { node, grpcStatus };
  if (typeof md === 'string') {
    return new CodedError(md, e.details || e.message, { retryable: rt === '1', details, cause: e });
  }
  // Raised by gRPC itself (no node code): connection, deadline, message limits.
  switch (e.code) {
    case Status.UNAVAILABLE:
      return new CodedError('KERNEL_UNAVAILABLE', `kernel node ${node} is unreachable: ${e.details}`, { retryable: true, details, cause: e });
    case Status.DEADLINE_EXCEEDED:
      return new CodedError('KERNEL_DEADLINE', `kernel node ${node} did not answer in time: ${e.details}`, { retryable: true, details, cause: e });
    case Status.RESOURCE_EXHAUSTED:
      if (/larger than max/i.test(e.details)) return new CodedError('MESSAGE_TOO_LARGE', `message to or from ${node} exceeds the size limit: ${e.details}`, { details, cause: e });
      return new CodedError(NodeErrorCode.busy, `kernel node ${node} is saturated: ${e.details}`, { retryable: true, details, cause: e });
    case Status.CANCELLED:
      return new CodedError('CANCELLED', `call to ${node} was cancelled: ${e.details}`, { details, cause: e });
    case Status.INTERNAL:
    case Status.UNKNOWN:
      return new CodedError('KERNEL_INTERNAL', `kernel node ${node} failed: ${e.details}`, { retryable: true, details, cause: e });
    default:
      return new CodedError(`KERNEL_${grpcStatus}`, `kernel node ${node}: ${e.details}`, { details, cause: e });
  }
}
