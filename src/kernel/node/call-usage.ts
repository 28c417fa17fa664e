// What one call cost on the node, reported back in its response (jobs bill compute).
import type { Usage } from '../generated/patchwork/kernel/v1/kernel.ts';

export class CallUsage {
  kernelMs = 0;
  cacheHits = 0;
  cacheMisses = 0;
  bytesRead = 0;
  bytesWritten = 0;

  /** Times `fn` (synchronous kernel code on this thread) into kernelMs. */
  time<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.kernelMs += performance.now() - t0;
    }
  }

  toWire(nodeId: string): Usage {
    return {
      kernelMs: Math.round(this.kernelMs * 1000) / 1000,
      blobBytesRead: this.bytesRead,
      blobBytesWritten: this.bytesWritten,
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      nodeId,
    };
  }
}

