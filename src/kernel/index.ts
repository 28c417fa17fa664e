// Patchwork's kernel: exemplar-based inpainting (Wexler et al. 2007) with PatchMatch (Barnes et
// al. 2009), as pure steps over flat typed arrays. The in-process driver (`inpaint`) and the
// distributed path call the same steps; see docs/architecture.md, "Kernel".
export { inpaint, type InpaintInput, type ProgressCallback } from './inpaint.ts';
export { closeSharedPool } from './pool.ts';
export { prepare, checkImage, type Prepared, type PrepareSettings } from './prepare.ts';
export { initTopLevel, initFromCoarser } from './init-level.ts';
export { runTile } from './tile-step.ts';
export { assemble, assembleValues, converged, stateBuffers } from './assemble.ts';
export { preview, finish } from './compose.ts';
export { maskToBinary, donorUnion } from './mask.ts';
export { holeIndexAt, randomSource } from './sources.ts';
export { DEFAULT_OPTIONS, MAX_PATCH_SIZE, resolveOptions, type InpaintOptionsInput, type RunOptions } from './options.ts';
export { COARSE_PATCH_SIZE, levelPatchSize, patchRadius } from './patch-size.ts';
export { KernelError, isKernelError, type KernelErrorCode } from './errors.ts';
export { streamSeed, Xorshift32 } from './prng.ts';
export { rgbToLab, labToRgb, ciede2000 } from './color.ts';
export { decodeImage, encodeImage, formatForPath, type ImageFormat } from './image-io.ts';
export * from './codec.ts';
export type * from './types.ts';
