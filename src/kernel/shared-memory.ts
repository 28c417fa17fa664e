// Typed arrays that may live on a SharedArrayBuffer, so worker threads read a level's big static
// arrays without a copy.

type TypedArrayCtor<T> = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/**
 * SharedArrayBuffers of a finished fill, by byte length, for the next fill of the same size
 * (recycleShared). Their garbage is freed only by a GC that their external memory hardly
 * triggers, so a second fill in a process would otherwise sit on top of the first's.
 */
let recycled = new Map<number, SharedArrayBuffer[]>();

/** A zeroed typed array, on a SharedArrayBuffer when `shared` (a recycled one of the same size if there is one). */
export function allocArray<T>(ctor: TypedArrayCtor<T>, length: number, shared: boolean): T {
  const bytes = length * ctor.BYTES_PER_ELEMENT;
  if (shared) {
    const again = recycled.get(bytes)?.pop();
    if (again) {
      new Uint8Array(again).fill(0);
      return new ctor(again, 0, length);
    }
  }
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  return new ctor(buffer, 0, length);
}

/**
 * Hands whole shared arrays nobody will read again to the next allocations of their size (those
 * recycled before and not taken are let go). Only for arrays no caller can still hold.
 */
export function recycleShared(arrays: Iterable<{ buffer: ArrayBufferLike; byteOffset: number; byteLength: number }>): void {
  recycled = new Map();
  const seen = new Set<SharedArrayBuffer>();
  for (const a of arrays) {
    const b = a.buffer;
    if (!(b instanceof SharedArrayBuffer) || a.byteOffset !== 0 || a.byteLength !== b.byteLength || seen.has(b)) continue;
    seen.add(b);
    const list = recycled.get(b.byteLength);
    if (list) list.push(b);
    else recycled.set(b.byteLength, [b]);
  }
}

/** Lets go of recycled arrays not taken (after a fill's big allocations). */
export function dropRecycled(): void {
  recycled = new Map();
}

/** A copy of `src` on shared memory (or `src` itself when it already is shared or sharing is off). */
export function toShared<T extends Uint8Array | Int32Array | Float32Array>(src: T, shared: boolean): T {
  if (!shared || src.buffer instanceof SharedArrayBuffer) return src;
  const ctor = src.constructor as TypedArrayCtor<T>;
  const out = allocArray(ctor, src.length, true);
  (out as unknown as { set(a: ArrayLike<number>): void }).set(src);
  return out;
}

/** True when `a` lives on a SharedArrayBuffer: a level prepared for worker threads. */
export function isShared(a: { buffer: ArrayBufferLike }): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}
