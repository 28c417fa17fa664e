// Small jobs made in code for the fault tests: textured pictures with a disc or a rectangle to
// remove (no test reads ../shared).
import { png } from './gateway-client.ts';
import type { JobCase } from './fault-scenarios.ts';
import { discMask, rectMask, texturedImage } from './images.ts';

/** Pictures made in code, PNG-encoded: `count` cases of width × 3/4 width, a disc or a rectangle to remove. */
export async function codeCases(width: number, count = 4): Promise<JobCase[]> {
  const height = Math.round((width * 3) / 4);
  const out: JobCase[] = [];
  for (let i = 0; i < count; i++) {
    const img = texturedImage(width, height, 11 + i);
    const mask = i % 2 === 0 ? discMask(width, height, Math.round(width * 0.5), Math.round(height * 0.45), Math.round(width * 0.12)) : rectMask(width, height, Math.round(width * 0.3), Math.round(height * 0.3), Math.round(width * 0.55), Math.round(height * 0.6));
    out.push({ name: `code${i}@${width}`, image: await png(img), mask: await png(mask), seed: 201 + i });
  }
  return out;
}
