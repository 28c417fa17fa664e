// A watched job's view with its live progress laid over it (src/common/live-hints.ts). The
// history is the truth: a hint shows only while the job is RUNNING and the hint is ahead of the
// history (more progress), and a live preview while it is of a later step than the durable
// preview (also on the final view, so a watcher's picture never goes back: a watch's final view
// may thus show a newer preview than the job index's). Progress only grows, and a picture is
// replaced only by a newer one. Pure: the watch feeds it hints and durable views and publishes what it returns.
import type { LiveHint, LivePreview } from '../../common/live-hints.ts';
import { LIVE_VERSIONS } from './job-view.ts';
import type { JobView, StepOf } from './types.ts';

/** Whether step `a` comes after step `b` in the fill (levels run from the coarsest down). */
const later = (a: StepOf, b: StepOf): boolean => a.level < b.level || (a.level === b.level && a.iteration > b.iteration);

export class LiveOverlay {
  /** The hint with the most progress so far. */
  #hint: LiveHint | null = null;
  /** The live preview of the latest step, that step, and its progress. */
  #preview: { ref: LivePreview; step: StepOf; progress: number } | null = null;
  /**
   * The durable preview, and the job's progress when it was first seen: no earlier than its
   * step, the order used for jobs whose history does not say which step a preview shows.
   */
  #durablePreview: { id: string; progress: number } | null = null;
  /** Live views given on top of the durable version `#base`: numbered #base + 1, + 2, ... (see job-view.ts). */
  #base = -1;
  #slot = 0;

  /** Takes a hint; true when it is news (a view made now may differ from the last one). */
  hint(h: LiveHint): boolean {
    let news = false;
    if (h.preview && (!this.#preview || h.progress > this.#preview.progress)) {
      this.#preview = { ref: h.preview, step: { level: h.level, iteration: h.iteration }, progress: h.progress };
      news = true;
    }
    if (!this.#hint || h.progress > this.#hint.progress) {
      this.#hint = h;
      news = true;
    }
    return news;
  }

  /**
   * The view to show for the durable view `d`: `d` itself, or `d` with the live level, iteration,
   * progress and preview. null: nothing new to show (more live views on one durable version than
   * its version numbers leave room for; the next durable version shows them).
   */
  view(d: JobView): JobView | null {
    if (d.preview && d.preview.id !== this.#durablePreview?.id) this.#durablePreview = { id: d.preview.id, progress: d.progress };
    if (d.version !== this.#base) {
      this.#base = d.version;
      this.#slot = 0;
    }
    const h = this.#hint;
    const ahead = h !== null && h.progress > d.progress;
    const p = this.#preview;
    const newerPicture = p !== null && (!d.preview || (d.previewStep ? later(p.step, d.previewStep) : p.progress > this.#durablePreview!.progress));
    // Paused or ended: no live progress over it, but a live picture newer than the job's last
    // durable preview stays (a watcher's picture never goes back), on the same version.
    if (d.status !== 'RUNNING') return newerPicture ? { ...d, preview: { ...p.ref }, previewStep: { ...p.step } } : d;
    if (!ahead && !newerPicture) return this.#slot === 0 ? d : null;
    if (this.#slot >= LIVE_VERSIONS) return null;
    this.#slot++;
    const v: JobView = { ...d, version: d.version + this.#slot };
    if (ahead) Object.assign(v, { level: h.level, levels: h.levels, iteration: h.iteration, progress: h.progress });
    if (newerPicture) Object.assign(v, { preview: { ...p.ref }, previewStep: { ...p.step } });
    return v;
  }
}
