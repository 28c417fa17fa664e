// Undo/redo over a list of operations: what is drawn is always the replay of the first `done`
// operations, so undo and redo are just moving that boundary (and a new operation after an undo
// drops the redo tail, as every editor does).
export class History<T> {
  #ops: T[] = [];
  #done = 0;

  push(op: T): void {
    this.#ops.length = this.#done;
    this.#ops.push(op);
    this.#done++;
  }

  undo(): boolean {
    if (this.#done === 0) return false;
    this.#done--;
    return true;
  }

  redo(): boolean {
    if (this.#done === this.#ops.length) return false;
    this.#done++;
    return true;
  }

  get canUndo(): boolean {
    return this.#done > 0;
  }

  get canRedo(): boolean {
    return this.#done < this.#ops.length;
  }

  /** The operations in effect, oldest first. */
  applied(): readonly T[] {
    return this.#ops.slice(0, this.#done);
  }

  reset(): void {
    this.#ops = [];
    this.#done = 0;
  }
}
