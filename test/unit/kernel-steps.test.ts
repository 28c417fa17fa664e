// The step functions the distributed path calls: each is pure, and a tile's result depends only
// on its inputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assemble,
  converged,
  holeIndexAt,
  initFromCoarser,
  initTopLevel,
  KernelError,
  maskToBinary,
  patchRadius,
  prepare,
  resolveOptions,
  runTile,
  stateBuffers,
  type LevelState,
  type LevelStatic,
  type PlanOptions,
  type StateBuffers,
  type TileResult,
} from '../../src/kernel/index.ts';
import { STALL_CEILING } from '../../src/kernel/assemble.ts';
import { allocArray, dropRecycled, recycleShared } from '../../src/kernel/shared-memory.ts';
import { discMask, rectMask, texturedImage } from '../support/images.ts';

const { plan: base } = resolveOptions({ tileSize: 24 });

function setup(options: PlanOptions = base, donorRect?: [number, number, number, number]) {
  const w = 120;
  const h = 90;
  const hole = maskToBinary(discMask(w, h, 60, 45, 16), w, h);
  const donor = donorRect ? maskToBinary(rectMask(w, h, ...donorRect), w, h) : null;
  return { ...prepare(texturedImage(w, h), hole, donor, options), hole, donor, w, h };
}

function iterate(s: LevelStatic, state: LevelState, options: PlanOptions, order?: number[]): LevelState {
  const n = s.tiles.length >> 2;
  const results: TileResult[] = new Array(n);
  for (const k of order ?? [...Array(n).keys()]) results[k] = runTile(s, state, options, k);
  return assemble(s, state, results, options);
}

test('a search-only PatchMatch pass never increases any patch distance', () => {
  const { levels } = setup();
  const s = levels[levels.length - 1];
  let state = initTopLevel(s, base);
  assert.ok(state.warmup >= 2, 'the top level starts with search-only iterations');
  state = iterate(s, state, base);
  const before = state.dist.slice();
  const valuesBefore = state.values.slice();
  state = iterate(s, state, base);
  assert.deepEqual(state.values, valuesBefore, 'search-only iterations keep the values');
  let improved = 0;
  for (let t = 0; t < before.length; t++) {
    assert.ok(state.dist[t] <= before[t], `target ${t}: ${state.dist[t]} > ${before[t]}`);
    if (state.dist[t] < before[t]) improved++;
  }
  assert.ok(improved > 0, 'the pass improved something');
});

test('every match is a source patch that touches neither the hole nor the image border', () => {
  const { levels } = setup();
  let state: LevelState | null = null;
  for (let l = levels.length - 1; l >= 0; l--) {
    const s = levels[l];
    state = state ? initFromCoarser(s, levels[l + 1], state, base) : initTopLevel(s, base);
    for (let i = 0; i < 3; i++) state = iterate(s, state, base);
    // Coarse levels use patches of at most COARSE_PATCH_SIZE (options.ts).
    const r = patchRadius(base, s.level);
    for (const q of state.nnf) {
      const x = q % s.width;
      const y = (q - x) / s.width;
      assert.ok(x >= r && y >= r && x < s.width - r && y < s.height - r, `source ${x},${y} leaves the image`);
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) assert.equal(holeIndexAt(s, q + dy * s.width + dx), -1, `source ${x},${y} touches the hole`);
    }
  }
});

test('donors: every match lies wholly inside the donor area', () => {
  const { levels, donor, w } = setup(base, [0, 0, 40, 90]);
  const s = levels[0];
  let state = initTopLevel(s, base);
  for (let i = 0; i < 4; i++) state = iterate(s, state, base);
  const r = base.patchSize >> 1;
  for (const q of state.nnf) {
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) assert.equal(donor![q + dy * w + dx], 1, 'source patch leaves the donor area');
  }
});

test('tile results do not depend on the order tiles run in (Jacobi across tiles)', () => {
  const { levels } = setup();
  const s = levels[0];
  assert.ok(s.tiles.length >> 2 > 3);
  let a = initTopLevel(s, base);
  let b = initTopLevel(s, base);
  const n = s.tiles.length >> 2;
  const reversed = [...Array(n).keys()].reverse();
  for (let i = 0; i < 4; i++) {
    a = iterate(s, a, base);
    b = iterate(s, b, base, reversed);
    // Interleave unrelated work between tiles: shared scratch buffers must not leak state.
    runTile(s, b, { ...base, seed: 99 }, n - 1);
  }
  assert.deepEqual(a.values, b.values);
  assert.deepEqual(a.nnf, b.nnf);
  assert.deepEqual(a.dist, b.dist);
});

test('tiles writing in place (into reused buffers, shared memory) give the states of tiles with arrays of their own', () => {
  const w = 120;
  const h = 90;
  const hole = maskToBinary(discMask(w, h, 60, 45, 16), w, h);
  const image = texturedImage(w, h);
  const own = prepare(image, hole, null, base).levels[0];
  const shared = prepare(image, hole, null, base, { shared: true }).levels[0];
  let a = initTopLevel(own, base);
  let b = initTopLevel(shared, base);
  assert.ok(b.nnf.buffer instanceof SharedArrayBuffer, 'a shared level gets shared states');
  const n = shared.tiles.length >> 2;
  let spare: StateBuffers = stateBuffers(shared);
  for (let i = 0; i < 5; i++) {
    a = iterate(own, a, base);
    const into = spare;
    const results: TileResult[] = [];
    for (let k = n - 1; k >= 0; k--) results[k] = runTile(shared, b, base, k, 'iterate', into);
    const previous = b;
    b = assemble(shared, b, results, base, into);
    assert.equal(b.values, into.values, 'the next state is the buffers the tiles wrote');
    spare = { values: previous.values, nnf: previous.nnf, dist: previous.dist };
    assert.deepEqual(Array.from(b.values), Array.from(a.values));
    assert.deepEqual(Array.from(b.nnf), Array.from(a.nnf));
    assert.deepEqual(Array.from(b.dist), Array.from(a.dist));
  }
});

test('seeds: same seed same state, another seed another field', () => {
  const { levels } = setup();
  const s = levels[0];
  const run = (seed: number): LevelState => {
    const o = { ...base, seed };
    let st = initTopLevel(s, o);
    for (let i = 0; i < 3; i++) st = iterate(s, st, o);
    return st;
  };
  assert.deepEqual(run(5).nnf, run(5).nnf);
  assert.notDeepEqual(run(5).nnf, run(6).nnf);
});

test('assemble rejects results of another tile, iteration or size', () => {
  const { levels } = setup();
  const s = levels[0];
  const state = initTopLevel(s, base);
  const n = s.tiles.length >> 2;
  const results = [...Array(n).keys()].map((k) => runTile(s, state, base, k));
  assert.throws(() => assemble(s, state, results.slice(1), base), (e: unknown) => e instanceof KernelError && e.code === 'BAD_DATA');
  const swapped = [results[1], results[0], ...results.slice(2)];
  assert.throws(() => assemble(s, state, swapped, base), (e: unknown) => e instanceof KernelError && e.code === 'BAD_DATA');
  const stale = results.map((r) => ({ ...r, iteration: r.iteration + 1 }));
  assert.throws(() => assemble(s, state, stale, base), (e: unknown) => e instanceof KernelError && e.code === 'BAD_DATA');
});

test('a level converges: pixels changed fall, and the level stops by maxIterations at the latest', () => {
  const { levels } = setup();
  const s = levels[0];
  let state = initTopLevel(s, base);
  const changed: number[] = [];
  while (!converged(s, state, base)) {
    state = iterate(s, state, base);
    changed.push(state.changed);
  }
  assert.ok(state.iteration <= base.maxIterations);
  const voted = changed.slice(2); // after the two search-only iterations
  assert.ok(voted[voted.length - 1] < voted[0], `changed ${changed}`);
});

test('the full-size level also stops when its churn stalls while low; coarser levels only under the bar', () => {
  const { levels } = setup();
  const fine = levels[0];
  const coarse = { ...levels[1], level: 1 };
  assert.equal(fine.level, 0);
  const holes = fine.holePixels.length;
  const bar = base.convergence * holes;
  const at = (s: LevelStatic, changed: number, previousChanged: number, iteration = 5): boolean =>
    converged(s, { level: s.level, iteration, values: new Float32Array(0), nnf: new Int32Array(0), dist: new Float32Array(0), voteScale: 1, changed, previousChanged, warmup: 0 }, base);
  const low = Math.floor(2 * bar);
  // Still falling: go on; no longer falling: stop (level 0 only).
  assert.equal(at(fine, low, low + 10), false);
  assert.equal(at(fine, low, low), false);
  assert.equal(at(fine, low, low - 10), true);
  assert.equal(at({ ...coarse, holePixels: fine.holePixels }, low, low - 10), false);
  // Above STALL_CEILING x the bar a stall does not stop the level; under the bar it always stops.
  assert.equal(at(fine, Math.ceil(STALL_CEILING * bar) + 1, 1), false);
  assert.equal(at(fine, Math.floor(bar), holes), true);
  // Before minIterations nothing stops it; at maxIterations it stops whatever changed.
  assert.equal(at(fine, low, 1, base.minIterations - 1), false);
  assert.equal(at(fine, holes, holes, base.maxIterations), true);
});

test('assemble carries the last change count into previousChanged (so the stall rule works from any copy of the state)', () => {
  const { levels } = setup();
  const s = levels[levels.length - 1];
  const first = initTopLevel(s, base);
  assert.equal(first.previousChanged, first.changed);
  const second = iterate(s, first, base);
  const third = iterate(s, second, base);
  assert.equal(second.previousChanged, first.changed);
  assert.equal(third.previousChanged, second.changed);
});

test('recycled shared arrays come back zeroed, to allocations of their size only', () => {
  const a = allocArray(Float32Array, 1000, true);
  a.fill(7);
  const b = allocArray(Int32Array, 10, true);
  recycleShared([a, b, new Float32Array(5)]);
  const again = allocArray(Float32Array, 1000, true);
  assert.equal(again.buffer, a.buffer, 'the same buffer');
  assert.ok(again.every((v) => v === 0), 'zeroed');
  assert.notEqual(allocArray(Float32Array, 1000, true).buffer, a.buffer, 'each buffer once');
  assert.ok(!(allocArray(Uint8Array, 4000, false).buffer instanceof SharedArrayBuffer), 'unshared allocations never take one');
  dropRecycled();
  assert.notEqual(allocArray(Int32Array, 10, true).buffer, b.buffer, 'dropped');
});
