// The kernel's one error type. Every failure a caller can cause carries a stable `code` (the
// gateway maps codes to GraphQL errors, the CLI to exit code 2) and a message that says how to
// fix the input, not just what went wrong.

export type KernelErrorCode =
  | 'BAD_IMAGE' // not a decodable image, or an image of unusable size
  | 'BAD_MASK' // a mask that is not a decodable image
  | 'BAD_MASK_SIZE' // mask or donor mask of another size than the image
  | 'EMPTY_SOURCE' // no known pixels (or no donor patch) left to copy from
  | 'BAD_OPTION' // an option out of range or of the wrong type
  | 'BAD_DATA'; // a blob handed to the codec or a step is malformed or of another plan

export class KernelError extends Error {
  readonly code: KernelErrorCode;

  constructor(code: KernelErrorCode, message: string) {
    super(message);
    this.name = 'KernelError';
    this.code = code;
  }
}

export function isKernelError(e: unknown): e is KernelError {
  return e instanceof KernelError;
}
