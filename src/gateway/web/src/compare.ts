// The before/after slider: the result underneath, the original on top clipped to the left of a
// handle the user drags (on the picture itself, or with the range input, keyboard included).
export class CompareSlider {
  readonly #frame: HTMLElement;
  readonly #before: HTMLImageElement;
  readonly #handle: HTMLElement;
  readonly #range: HTMLInputElement;
  #dragging = false;
  #active = false;

  constructor(frame: HTMLElement, before: HTMLImageElement, handle: HTMLElement, range: HTMLInputElement) {
    this.#frame = frame;
    this.#before = before;
    this.#handle = handle;
    this.#range = range;
    range.addEventListener('input', () => this.#set(Number(range.value)));
    frame.addEventListener('pointerdown', (e) => {
      if (!this.#active) return;
      this.#dragging = true;
      frame.setPointerCapture(e.pointerId);
      this.#follow(e);
    });
    frame.addEventListener('pointermove', (e) => this.#dragging && this.#follow(e));
    const stop = (): void => {
      this.#dragging = false;
    };
    frame.addEventListener('pointerup', stop);
    frame.addEventListener('pointercancel', stop);
  }

  /** Shows `beforeUrl` over the frame's picture, split at the middle. */
  open(beforeUrl: string): void {
    this.#before.src = beforeUrl;
    this.#active = true;
    this.#before.hidden = this.#handle.hidden = this.#range.hidden = false;
    this.#frame.classList.add('comparing');
    this.#set(50);
  }

  close(): void {
    this.#active = false;
    this.#dragging = false;
    this.#before.hidden = this.#handle.hidden = this.#range.hidden = true;
    this.#frame.classList.remove('comparing');
  }

  #follow(e: PointerEvent): void {
    const r = this.#frame.getBoundingClientRect();
    this.#set(((e.clientX - r.left) / r.width) * 100);
  }

  #set(percent: number): void {
    const p = Math.max(0, Math.min(100, percent));
    this.#range.value = String(Math.round(p));
    this.#before.style.clipPath = `inset(0 ${100 - p}% 0 0)`;
    this.#handle.style.left = `${p}%`;
  }
}
