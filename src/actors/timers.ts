// In-memory arming of durable timers. The fire time is recorded in the history (TimerCreated);
// this only schedules the wake-up in the current process, and is rebuilt from the history on
// activation, so a timer survives restarts and moves between hosts.

// setTimeout cannot wait longer than 2^31-1 ms; longer timers re-arm in steps.
const MAX_DELAY = 2_147_483_647;

export class TimerSet {
  readonly #handles = new Map<number, ReturnType<typeof setTimeout>>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#handles.size;
  }

  arm(key: number, fireAt: number, onFire: () => void): void {
    this.disarm(key);
    const wait = Math.max(0, fireAt - this.#clock());
    const handle = setTimeout(
      () => {
        this.#handles.delete(key);
        if (this.#clock() < fireAt) this.arm(key, fireAt, onFire);
        else onFire();
      },
      Math.min(wait, MAX_DELAY),
    );
    this.#handles.set(key, handle);
  }

  disarm(key: number): void {
    const h = this.#handles.get(key);
    if (h !== undefined) {
      clearTimeout(h);
      this.#handles.delete(key);
    }
  }

  clear(): void {
    for (const h of this.#handles.values()) clearTimeout(h);
    this.#handles.clear();
  }
}
