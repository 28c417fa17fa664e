// Bounded admission: a node takes at most `capacity` calls at once (running or waiting for a
// worker); one more is refused at once (RESOURCE_EXHAUSTED) so the client can go elsewhere,
// instead of queueing without bound. While draining, every new call is refused (UNAVAILABLE).
export type Verdict = 'ok' | 'busy' | 'draining';

export class Admission {
  readonly capacity: number;
  #inFlight = 0;
  #draining = false;
  #idle: (() => void)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get draining(): boolean {
    return this.#draining;
  }

  enter(): Verdict {
    if (this.#draining) return 'draining';
    if (this.#inFlight >= this.capacity) return 'busy';
    this.#inFlight++;
    return 'ok';
  }

  leave(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const f of this.#idle.splice(0)) f();
  }

  /** Refuses new calls from now on. */
  drain(): void {
    this.#draining = true;
  }

  /** Resolves when no call is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
