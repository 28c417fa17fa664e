// Encodes a picture (a preview or a result) and stores it as a blob, counting the encoding as
// kernel time and the bytes as written.
import type { BlobRef } from '../../common/blob-store.ts';
import { encodeImage, type ImageFormat } from '../image-io.ts';
import type { RgbaImage } from '../types.ts';
import type { ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';

export async function storeImage(deps: ServiceDeps, image: RgbaImage, format: ImageFormat, usage: CallUsage): Promise<BlobRef> {
  const t0 = performance.now();
  const encoded = await encodeImage(image, format);
  usage.kernelMs += performance.now() - t0;
  // Outputs are not read back by nodes: not kept in the cache.
  const ref = await deps.cache.put(encoded, false);
  usage.bytesWritten += encoded.length;
  return ref;
}
