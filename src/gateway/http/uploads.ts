// POST /uploads: image bytes in the body, out of band from GraphQL (Apollo's advice). The body is
// read as a stream with a byte cap (413 the moment it is passed, never buffered beyond it) and a
// time limit (408 for a stalled upload); the type comes from the magic bytes (415 for anything
// but PNG, JPEG, WebP, decided from the first 12 bytes); sharp reads the header under a pixel
// cap and decodes the whole image once, so a truncated or corrupt file is refused here rather
// than failing a job later. The bytes are stored content-addressed and recorded for the tenant.
import type { Request, Response } from 'express';
import sharp, { type Metadata } from 'sharp';
import type { JobService } from '../../actors/jobs/types.ts';
import type { Authenticator } from '../auth.ts';
import type { GatewayBlobStore } from '../deps.ts';
import { restError } from '../errors.ts';
import type { RateLimiter } from '../limits/rate-limiter.ts';
import { SHARP_FORMAT, SNIFF_BYTES, sniffImageType, type ImageType } from './image-sniff.ts';
import { admit } from './tenant.ts';

export interface UploadSettings {
  maxBytes: number;
  maxPixels: number;
  timeoutMs: number;
}

export interface UploadDeps {
  jobs: JobService;
  blobs: GatewayBlobStore;
  auth: Authenticator;
  limiter: RateLimiter;
  blobUrl(id: string): string;
  onUpload?(bytes: number): void;
}

/** Content types a client may declare (the bytes decide the real one). */
const DECLARABLE = new Set(['image/png', 'image/jpeg', 'image/jpg', 'image/webp', 'application/octet-stream']);

class UploadRejected extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * Answers at once, then a lingering close (as nginx does): what the client is still sending is
 * read and discarded — never buffered — for a moment, so the client gets to read the answer
 * instead of a connection reset (closing a socket with unread data sends a reset, and HTTP
 * clients that are still writing then report EPIPE, not the status); after LINGER_MS the
 * connection is cut.
 */
function refuse(req: Request, res: Response, e: UploadRejected): void {
  if (res.headersSent) {
    req.destroy();
    return;
  }
  res.status(e.status).json(restError(e.code as RestCode, e.message, e.reason));
  req.resume();
  const linger = setTimeout(() => req.socket.destroy(), LINGER_MS);
  linger.unref();
  req.once('end', () => clearTimeout(linger));
  req.once('close', () => clearTimeout(linger));
}

/** How long a refused upload's remaining body is read and discarded before the connection is cut. */
const LINGER_MS = 2_000;

type RestCode = Parameters<typeof restError>[0];

/** Reads the body up to the cap and the deadline, sniffing the type from the first bytes. */
function readBody(req: Request, settings: UploadSettings): Promise<{ bytes: Buffer; type: ImageType }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let type: ImageType | null = null;
    let done = false;
    const finish = (err: UploadRejected | null, value?: { bytes: Buffer; type: ImageType }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new UploadRejected(408, 'REQUEST_TIMEOUT', `the upload did not arrive within ${settings.timeoutMs} ms; send the whole body at once and retry.`, 'UPLOAD_TIMEOUT')),
      settings.timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > settings.maxBytes) {
        finish(new UploadRejected(413, 'PAYLOAD_TOO_LARGE', `the upload is larger than ${settings.maxBytes} bytes.`, 'TOO_MANY_BYTES'));
        return;
      }
      chunks.push(chunk);
      if (type === null && size >= SNIFF_BYTES) {
        type = sniffImageType(Buffer.concat(chunks, size).subarray(0, SNIFF_BYTES));
        if (type === null) finish(unsupported());
      }
    };
    const onEnd = () => {
      if (size === 0) return finish(new UploadRejected(400, 'BAD_USER_INPUT', 'the upload is empty: send the image bytes as the request body.', 'EMPTY_BODY'));
      const bytes = Buffer.concat(chunks, size);
      type ??= sniffImageType(bytes);
      if (type === null) return finish(unsupported());
      finish(null, { bytes, type });
    };
    const onError = () => finish(new UploadRejected(400, 'BAD_USER_INPUT', 'the upload was cut off.', 'UPLOAD_ABORTED'));
    const onAborted = onError;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function unsupported(): UploadRejected {
  return new UploadRejected(415, 'UNSUPPORTED_MEDIA_TYPE', 'the body is not a PNG, JPEG or WebP image (checked by its bytes).', 'NOT_AN_IMAGE');
}

/** Header and full decode under the pixel cap: dimensions, or a rejection saying what is wrong. */
async function inspect(bytes: Buffer, type: ImageType, maxPixels: number): Promise<{ width: number; height: number }> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
  } catch (err) {
    const msg = (err as Error).message;
    if (/pixel limit/i.test(msg)) throw new UploadRejected(413, 'PAYLOAD_TOO_LARGE', `the image has more than ${maxPixels} pixels; downscale it first.`, 'TOO_MANY_PIXELS');
    throw new UploadRejected(400, 'BAD_USER_INPUT', `the image cannot be read: ${msg}`, 'BAD_IMAGE');
  }
  if (meta.format !== SHARP_FORMAT[type] || !meta.width || !meta.height) {
    throw new UploadRejected(400, 'BAD_USER_INPUT', 'the image header is damaged.', 'BAD_IMAGE');
  }
  if ((meta.pages ?? 1) > 1) throw new UploadRejected(415, 'UNSUPPORTED_MEDIA_TYPE', 'animated images are not supported: upload a single frame.', 'ANIMATED_IMAGE');
  try {
    // Decode every pixel once (shrunk as it streams, so memory stays small): truncated or corrupt
    // data fails here.
    await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', sequentialRead: true }).resize(8, 8, { fit: 'fill' }).raw().toBuffer();
  } catch (err) {
    throw new UploadRejected(400, 'BAD_USER_INPUT', `the image is truncated or corrupt: ${(err as Error).message}`, 'BAD_IMAGE');
  }
  // EXIF orientations 5-8 turn the picture a quarter: the kernel decodes it upright (sharp's
  // rotate()), so the size a job sees is the turned one.
  const turned = (meta.orientation ?? 1) >= 5;
  return turned ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

export function uploadHandler(settings: UploadSettings, deps: UploadDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const tenant = admit(req, res, deps.auth, deps.limiter);
    if (tenant === null) return;
    try {
      const declared = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (declared && !DECLARABLE.has(declared)) throw unsupported();
      const length = Number(req.headers['content-length']);
      if (Number.isFinite(length) && length > settings.maxBytes) {
        throw new UploadRejected(413, 'PAYLOAD_TOO_LARGE', `the upload is larger than ${settings.maxBytes} bytes.`, 'TOO_MANY_BYTES');
      }
      const { bytes, type } = await readBody(req, settings);
      const { width, height } = await inspect(bytes, type, settings.maxPixels);
      const { id } = await deps.blobs.put(bytes);
      const image = { id, width, height, contentType: type };
      await deps.jobs.recordUpload(tenant, image);
      deps.onUpload?.(bytes.length);
      res.status(201).json({ ...image, url: deps.blobUrl(id) });
    } catch (err) {
      if (err instanceof UploadRejected) refuse(req, res, err);
      else throw err;
    }
  };
}
