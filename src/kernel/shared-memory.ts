// Typed arrays that may live on a SharedArrayBuffer, so worker threads read a level's big static
// arrays without a copy.

type TypedArrayCtor<T> = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

export function allocArray<T>(ctor: TypedArrayCtor<T>, length: number, shared: boolean): T {
  const buffer = shared ? new SharedArrayBuffer(length * ctor.BYTES_PER_ELEMENT) : new ArrayBuffer(length * ctor.BYTES_PER_ELEMENT);
  return new ctor(buffer, 0, length);
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
