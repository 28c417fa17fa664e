// Ground-truth quality check: cut holes where the truth is known (see support/synthetic-holes.ts),
// fill them with Patchwork and, when Debian's python3-opencv is there, with OpenCV's Telea,
// Navier-Stokes and shift-map fills; score hole PSNR and gradient ratio (support/metrics.ts).
// Two families of holes, reported apart: 'person' (each case's own mask shape moved onto known
// background, twice: large holes) and 'small' (spots, brush strokes and wires at seeded random
// spots: the everyday retouch). Prints a table, then one JSON line. Outputs go to
// artifacts/quality/ for looking at.
//   npm run bench:quality [-- --no-shiftmap | --no-baselines] [--case t009] [--sets person,blobs,strokes,lines]
//                         [--patch-size 9] [--options JSON] [--out DIR]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeImage, encodeImage, inpaint, maskToBinary, type InpaintOptionsInput, type RgbaImage } from '../src/kernel/index.ts';
import { gradientRatio, psnrHole } from './support/metrics.ts';
import { CASES, repoRoot, sharedDir } from './support/shared.ts';
import { placeHoles, placeSmallHoles, SMALL_KINDS, type Placement } from './support/synthetic-holes.ts';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const useShiftmap = !args.includes('--no-shiftmap');
const onlyCase = flag('--case');
const SETS = ['person', ...SMALL_KINDS] as const;
const sets = (flag('--sets') ?? SETS.join(',')).split(',');
for (const x of sets) if (!(SETS as readonly string[]).includes(x)) throw new Error(`unknown set ${x}; sets: ${SETS.join(', ')}`);
const kernelOptions: InpaintOptionsInput = { workers: 1 };
for (const [opt, key] of [
  ['--patch-size', 'patchSize'],
  ['--max-iterations', 'maxIterations'],
  ['--seed', 'seed'],
] as const) {
  const v = flag(opt);
  if (v !== undefined) kernelOptions[key] = Number(v);
}
// Any other kernel option, as JSON: --options '{"topHoleRadius": 6}'.
Object.assign(kernelOptions, JSON.parse(flag('--options') ?? '{}'));

const shared = sharedDir();
const outDir = resolve(repoRoot, flag('--out') ?? 'artifacts/quality');
mkdirSync(outDir, { recursive: true });
const python = '/usr/bin/python3';
const opencvTool = join(shared, 'tools/opencv_fill.py');
const haveOpencv = spawnSync(python, ['-c', 'import cv2, numpy, PIL'], { stdio: 'ignore' }).status === 0;
const baselines = haveOpencv && !args.includes('--no-baselines') ? ['telea', 'ns', ...(useShiftmap ? ['shiftmap'] : [])] : [];
if (!haveOpencv) console.error('quality: python3-opencv not found; OpenCV baselines skipped');

function maskImage(hole: Uint8Array, width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < hole.length; p++) {
    const v = hole[p] ? 255 : 0;
    data.set([v, v, v, 255], p * 4);
  }
  return { width, height, data };
}

interface Row {
  case: string;
  set: string;
  method: string;
  psnrHole: number;
  gradRatio: number;
  ms: number;
}

const rows: Row[] = [];
for (const c of CASES) {
  if (onlyCase && c.name !== onlyCase) continue;
  const image = await decodeImage(join(shared, 'images', c.image));
  const realHole = maskToBinary(await decodeImage(join(shared, 'images', c.mask), 'mask'), image.width, image.height);
  const placements: { set: string; name: string; p: Placement }[] = [];
  if (sets.includes('person')) placeHoles(realHole, image.width, image.height).forEach((p, k) => placements.push({ set: 'person', name: `${c.name}-${k + 1}`, p }));
  for (const kind of SMALL_KINDS) {
    if (sets.includes(kind)) placements.push({ set: kind, name: `${c.name}-${kind}`, p: placeSmallHoles(realHole, image.width, image.height, kind, CASES.indexOf(c) + 1) });
  }
  for (const { set, name, p } of placements) {
    const synthetic = p.synthetic;
    const hole = realHole.map((v, i) => v | synthetic[i]);
    const mask = maskImage(hole, image.width, image.height);
    const imagePath = join(outDir, `${name}_input.png`);
    const maskPath = join(outDir, `${name}_mask.png`);
    writeFileSync(imagePath, await encodeImage(image, 'png'));
    writeFileSync(maskPath, await encodeImage(mask, 'png'));
    writeFileSync(join(outDir, `${name}_gt.png`), await encodeImage(image, 'png'));
    const t0 = performance.now();
    const ours = await inpaint(image, mask, kernelOptions);
    const ms = performance.now() - t0;
    writeFileSync(join(outDir, `${name}_patchwork.png`), await encodeImage(ours, 'png'));
    rows.push({ case: name, set, method: 'patchwork', psnrHole: psnrHole(ours, image, synthetic), gradRatio: gradientRatio(ours, image, synthetic), ms });
    for (const method of baselines) {
      const outPath = join(outDir, `${name}_${method}.png`);
      const res = spawnSync(python, [opencvTool, imagePath, maskPath, outPath, method], { encoding: 'utf8' });
      if (res.status !== 0) {
        console.error(`quality: ${method} failed on ${name}: ${res.stderr}`);
        continue;
      }
      const filled = await decodeImage(readFileSync(outPath));
      const opencvMs = Number(/(\d+) ms/.exec(res.stdout)?.[1] ?? NaN);
      rows.push({ case: name, set, method, psnrHole: psnrHole(filled, image, synthetic), gradRatio: gradientRatio(filled, image, synthetic), ms: opencvMs });
    }
  }
}

const methods = [...new Set(rows.map((r) => r.method))];
const pad = (s: string, n: number): string => s.padEnd(n);
console.log(`${pad('case', 14)}${methods.map((m) => pad(`${m} psnr/grad`, 22)).join('')}`);
for (const name of [...new Set(rows.map((r) => r.case))]) {
  const cells = methods.map((m) => {
    const r = rows.find((x) => x.case === name && x.method === m);
    return pad(r ? `${r.psnrHole.toFixed(2)} / ${r.gradRatio.toFixed(3)}` : '-', 22);
  });
  console.log(`${pad(name, 14)}${cells.join('')}`);
}
// Means per family: 'person' (large holes) and 'small' (spots, strokes, wires), then all.
const families: [string, (r: Row) => boolean][] = [
  ['person', (r) => r.set === 'person'],
  ['small', (r) => r.set !== 'person'],
  ['all', () => true],
];
const summary: Record<string, Record<string, { psnrHole: number; gradRatio: number; minGradRatio: number; n: number }>> = {};
for (const [family, inFamily] of families) {
  for (const m of methods) {
    const mine = rows.filter((r) => r.method === m && inFamily(r));
    if (mine.length === 0) continue;
    const mean = (f: (r: Row) => number): number => mine.reduce((a, r) => a + f(r), 0) / mine.length;
    const entry = { psnrHole: +mean((r) => r.psnrHole).toFixed(3), gradRatio: +mean((r) => r.gradRatio).toFixed(3), minGradRatio: +Math.min(...mine.map((r) => r.gradRatio)).toFixed(3), n: mine.length };
    (summary[family] ??= {})[m] = entry;
    console.log(`${pad(`mean ${family} ${m}`, 26)} psnr_hole ${entry.psnrHole.toFixed(2)}  grad_ratio ${entry.gradRatio.toFixed(3)} (min ${entry.minGradRatio.toFixed(3)})  n=${entry.n}`);
  }
}
console.log(`outputs in ${outDir}`);
console.log(JSON.stringify({ bench: 'quality', options: kernelOptions, summary, rows: rows.map((r) => ({ ...r, psnrHole: +r.psnrHole.toFixed(3), gradRatio: +r.gradRatio.toFixed(3), ms: Math.round(r.ms) })) }));
