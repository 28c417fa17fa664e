// Where the benchmarks find the team's shared sample images: $PATCHWORK_SHARED, else ../shared
// beside the repository.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');

export function sharedDir(): string {
  const dir = process.env.PATCHWORK_SHARED ?? resolve(repoRoot, '../shared');
  if (!existsSync(resolve(dir, 'images'))) {
    throw new Error(`shared images not found at ${dir}/images; set PATCHWORK_SHARED to the folder holding images/ and tools/`);
  }
  return dir;
}

/** The sample cases: image, mask (zavolokas/Inpainting test set, MIT). */
export const CASES = [
  { name: 't009', image: 't009.jpg', mask: 'm009.png' },
  { name: 't020', image: 't020.jpg', mask: 'm020.png' },
  { name: 't023', image: 't023.jpg', mask: 'm023.png' },
  { name: 't058', image: 't058.jpg', mask: 'm058_1.png' },
  { name: 't067', image: 't067.jpg', mask: 'm067.png' },
] as const;
