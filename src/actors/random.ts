// Deterministic randomness for orchestrations: a small seeded generator (sfc32) whose state
// advances only through ctx.random()/ctx.uuid(), so a replay draws the same numbers.

export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    // splitmix32 spreads one 32-bit seed over the four words of state
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** In [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uuid(): string {
    const w = [this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32()];
    w[1] = ((w[1] & 0xffff0fff) | 0x00004000) >>> 0; // version 4
    w[2] = ((w[2] & 0x3fffffff) | 0x80000000) >>> 0; // variant 10
    const hex = w.map((x) => x.toString(16).padStart(8, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}
