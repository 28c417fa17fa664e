// GET /blobs/:id: uploads, previews and results, only to the tenant that owns them (an upload of
// its own or an output of one of its jobs; anything else is 404, exactly like a blob that does
// not exist). The id is the SHA-256 of the bytes, so the ETag is the id and the response never
// changes: immutable caching, 304 on If-None-Match. The id must be 64 lower-case hex characters
// before anything is looked up; there is no file system behind this route.
import type { Request, Response } from 'express';
import { BLOB_ID_PATTERN } from '../../common/blob-store.ts';
import { isCodedError } from '../../common/errors.ts';
import type { JobService } from '../../actors/jobs/types.ts';
import type { Authenticator } from '../auth.ts';
import type { GatewayBlobStore } from '../deps.ts';
import { ErrorCode } from '../errors.ts';
import type { RateLimiter } from '../limits/rate-limiter.ts';
import { sniffImageType } from './image-sniff.ts';
import { admit, sendError } from './tenant.ts';

export interface BlobDeps {
  jobs: JobService;
  blobs: GatewayBlobStore;
  auth: Authenticator;
  limiter: RateLimiter;
}

const CACHE_CONTROL = 'private, max-age=31536000, immutable';

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === etag || v === '*';
  });
}

export function blobHandler(deps: BlobDeps) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const id = req.params.id;
    if (!BLOB_ID_PATTERN.test(id)) {
      sendError(res, ErrorCode.badUserInput, 'a blob id is 64 lower-case hex characters (the SHA-256 of its bytes).', 'INVALID_BLOB_ID');
      return;
    }
    const tenant = admit(req, res, deps.auth, deps.limiter);
    if (tenant === null) return;
    if (!(await deps.jobs.ownsBlob(tenant, id))) {
      sendError(res, ErrorCode.notFound, `blob '${id}' not found.`);
      return;
    }
    const etag = `"${id}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', CACHE_CONTROL);
    res.setHeader('Vary', 'Authorization');
    if (matchesEtag(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = await deps.blobs.get(id);
    } catch (err) {
      if (isCodedError(err) && err.code === 'BLOB_NOT_FOUND') {
        res.removeHeader('ETag');
        res.removeHeader('Cache-Control');
        sendError(res, ErrorCode.notFound, `blob '${id}' not found (it may have expired).`);
        return;
      }
      throw err;
    }
    res.setHeader('Content-Type', sniffImageType(bytes.subarray(0, 12)) ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(bytes.length));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.status(200).end(bytes);
  };
}
