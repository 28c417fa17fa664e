// The mask editor: two layers at the photo's own resolution — what to remove (red) and, when
// painted, where to copy from (green) — drawn with a round brush by mouse, pen or finger, with
// an eraser, undo/redo and clear. Strokes are kept as point lists in image pixels, so undo
// replays them exactly; the layers export as white-on-black PNG masks for the gateway.
import { History } from './history.ts';

export type Tool = 'mask' | 'donor' | 'erase';

interface Stroke {
  kind: 'stroke';
  tool: Tool;
  /** Brush diameter in image pixels. */
  width: number;
  /** x0, y0, x1, y1, ... in image pixels. */
  points: number[];
}
type Op = Stroke | { kind: 'clear' };

const COLORS: Record<'mask' | 'donor', string> = { mask: 'rgb(255, 56, 96)', donor: 'rgb(40, 200, 140)' };

function layer(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

function ctx2d(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const g = c.getContext('2d');
  if (!g) throw new Error('no 2D canvas');
  return g;
}

export class MaskEditor {
  readonly #overlay: HTMLCanvasElement;
  readonly #cursor: HTMLElement;
  #mask = layer(1, 1);
  #donor = layer(1, 1);
  #history = new History<Op>();
  #stroke: Stroke | null = null;
  #frame = 0;
  #enabled = true;
  tool: Tool = 'mask';
  /** Brush diameter in screen pixels (the slider); converted to image pixels per stroke. */
  brushSize = 32;
  onChange: () => void = () => {};

  constructor(overlay: HTMLCanvasElement, cursor: HTMLElement) {
    this.#overlay = overlay;
    this.#cursor = cursor;
    overlay.addEventListener('pointerdown', (e) => this.#down(e));
    overlay.addEventListener('pointermove', (e) => this.#move(e));
    overlay.addEventListener('pointerup', (e) => this.#up(e));
    overlay.addEventListener('pointercancel', (e) => this.#up(e));
    overlay.addEventListener('pointerleave', () => (this.#cursor.hidden = true));
  }

  /** A new photo: empty layers of its size, empty history. */
  load(width: number, height: number): void {
    this.#overlay.width = width;
    this.#overlay.height = height;
    this.#mask = layer(width, height);
    this.#donor = layer(width, height);
    this.#history.reset();
    this.#stroke = null;
    this.#compose();
    this.onChange();
  }

  set enabled(on: boolean) {
    this.#enabled = on;
    this.#overlay.style.pointerEvents = on ? 'auto' : 'none';
    if (!on) this.#cursor.hidden = true;
  }

  get canUndo(): boolean {
    return this.#history.canUndo;
  }

  get canRedo(): boolean {
    return this.#history.canRedo;
  }

  undo(): void {
    if (this.#history.undo()) this.#replay();
  }

  redo(): void {
    if (this.#history.redo()) this.#replay();
  }

  clear(): void {
    if (!this.hasPaint('mask') && !this.hasPaint('donor')) return;
    this.#history.push({ kind: 'clear' });
    this.#replay();
  }

  /** Cheap: whether any paint stroke is in effect since the last clear (erasing may have undone it). */
  get maybePainted(): boolean {
    const ops = this.#history.applied();
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i];
      if (op.kind === 'clear') return false;
      if (op.tool === 'mask') return true;
    }
    return false;
  }

  /** Whether a layer has any painted pixel (after erasing). */
  hasPaint(which: 'mask' | 'donor'): boolean {
    const c = which === 'mask' ? this.#mask : this.#donor;
    const data = ctx2d(c).getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 127) return true;
    return false;
  }

  /** The layer as a white-on-black PNG of the photo's size, or null when nothing is painted. */
  async export(which: 'mask' | 'donor'): Promise<Blob | null> {
    if (!this.hasPaint(which)) return null;
    const src = which === 'mask' ? this.#mask : this.#donor;
    const out = layer(src.width, src.height);
    const g = ctx2d(out);
    g.drawImage(src, 0, 0);
    g.globalCompositeOperation = 'source-in';
    g.fillStyle = '#fff';
    g.fillRect(0, 0, out.width, out.height);
    g.globalCompositeOperation = 'destination-over';
    g.fillStyle = '#000';
    g.fillRect(0, 0, out.width, out.height);
    return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('cannot encode the mask'))), 'image/png'));
  }

  #toImage(e: PointerEvent): [number, number, number] {
    const r = this.#overlay.getBoundingClientRect();
    const scale = this.#overlay.width / r.width;
    return [(e.clientX - r.left) * scale, (e.clientY - r.top) * scale, scale];
  }

  #showCursor(e: PointerEvent): void {
    if (e.pointerType === 'touch') {
      this.#cursor.hidden = true;
      return;
    }
    const r = this.#overlay.getBoundingClientRect();
    const s = this.brushSize;
    Object.assign(this.#cursor.style, { width: `${s}px`, height: `${s}px`, left: `${e.clientX - r.left - s / 2}px`, top: `${e.clientY - r.top - s / 2}px` });
    this.#cursor.dataset.tool = this.tool;
    this.#cursor.hidden = false;
  }

  #down(e: PointerEvent): void {
    if (!this.#enabled || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    this.#overlay.setPointerCapture(e.pointerId);
    const [x, y, scale] = this.#toImage(e);
    this.#stroke = { kind: 'stroke', tool: this.tool, width: Math.max(1, this.brushSize * scale), points: [x, y] };
    this.#draw(this.#stroke, 0);
    this.#schedule();
  }

  #move(e: PointerEvent): void {
    this.#showCursor(e);
    const s = this.#stroke;
    if (!s) return;
    // Coalesced events keep fast strokes smooth where the browser batches pointer moves.
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const [x, y] = this.#toImage(ev);
      s.points.push(x, y);
      this.#draw(s, s.points.length - 4);
    }
    this.#schedule();
  }

  #up(e: PointerEvent): void {
    const s = this.#stroke;
    if (!s) return;
    this.#stroke = null;
    if (this.#overlay.hasPointerCapture(e.pointerId)) this.#overlay.releasePointerCapture(e.pointerId);
    this.#history.push(s);
    this.onChange();
  }

  /** Draws the stroke from point index `from` (a segment, or a dot at the start) onto its layers. */
  #draw(s: Stroke, from: number): void {
    const targets = s.tool === 'erase' ? [this.#mask, this.#donor] : [s.tool === 'mask' ? this.#mask : this.#donor];
    for (const t of targets) {
      const g = ctx2d(t);
      g.globalCompositeOperation = s.tool === 'erase' ? 'destination-out' : 'source-over';
      g.strokeStyle = g.fillStyle = s.tool === 'donor' ? COLORS.donor : COLORS.mask;
      g.lineWidth = s.width;
      g.lineCap = 'round';
      g.lineJoin = 'round';
      const p = s.points;
      if (from === 0) {
        g.beginPath();
        g.arc(p[0], p[1], s.width / 2, 0, Math.PI * 2);
        g.fill();
      }
      if (p.length >= from + 4) {
        g.beginPath();
        g.moveTo(p[from], p[from + 1]);
        for (let i = from + 2; i < p.length; i += 2) g.lineTo(p[i], p[i + 1]);
        g.stroke();
      }
    }
  }

  #replay(): void {
    for (const c of [this.#mask, this.#donor]) ctx2d(c).clearRect(0, 0, c.width, c.height);
    for (const op of this.#history.applied()) {
      if (op.kind === 'clear') for (const c of [this.#mask, this.#donor]) ctx2d(c).clearRect(0, 0, c.width, c.height);
      else this.#draw(op, 0);
    }
    this.#compose();
    this.onChange();
  }

  #schedule(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#compose();
    });
  }

  /** The visible overlay: both layers, translucent over the photo. */
  #compose(): void {
    const g = ctx2d(this.#overlay);
    g.clearRect(0, 0, this.#overlay.width, this.#overlay.height);
    g.globalAlpha = 0.55;
    g.drawImage(this.#donor, 0, 0);
    g.drawImage(this.#mask, 0, 0);
    g.globalAlpha = 1;
  }
}
