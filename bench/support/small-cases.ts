// Small jobs for the fault suite and the load benchmark: the shared sample photos downscaled to
// `width` (masks with nearest neighbour so they stay binary), or, when ../shared is absent,
// textured pictures made in code with a disc or a rectangle to remove.
import { resolve } from 'node:path';
import sharp from 'sharp';
import { codeCases } from '../../test/support/fault-cases.ts';
import type { JobCase } from '../../test/support/fault-scenarios.ts';
import { CASES, sharedDir } from './shared.ts';

export async function sharedCases(width: number): Promise<{ cases: JobCase[]; source: string }> {
  let dir: string;
  try {
    dir = sharedDir();
  } catch {
    return { cases: await codeCases(width), source: 'images made in code (no shared images found)' };
  }
  const cases: JobCase[] = [];
  for (const [i, c] of CASES.entries()) {
    const imagePath = resolve(dir, 'images', c.image);
    const maskPath = resolve(dir, 'images', c.mask);
    const meta = await sharp(imagePath).metadata();
    const height = Math.round((meta.height! * width) / meta.width!);
    cases.push({
      name: `${c.name}@${width}`,
      image: await sharp(imagePath).resize(width, height, { fit: 'fill' }).png().toBuffer(),
      mask: await sharp(maskPath).resize(width, height, { fit: 'fill', kernel: 'nearest' }).png().toBuffer(),
      seed: 101 + i,
    });
  }
  return { cases, source: `${dir}/images, downscaled to ${width} px wide` };
}
