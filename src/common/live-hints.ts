// Live progress of a running job: what a team run publishes after each step on the job's live
// subject (core NATS, nothing stored), and what a watcher answers. A hint is a hint: the job's
// history stays the truth, a watcher shows a hint only while it is ahead of the history, and a
// lost hint costs a picture, never a result (docs/architecture.md, "Live progress").
//
// Each hint is sent as a request: a watcher's answer says whether it wants previews, and "no
// responders" (nobody watches the job) tells the publisher to render none. So live previews cost
// nothing unless someone is looking.

/** The picture of a step: the same kind of reference a job's durable preview is. */
export interface LivePreview {
  id: string;
  width: number;
  height: number;
  contentType: string;
}

export interface LiveHint {
  level: number;
  levels: number;
  /** Iterations of `level` done with this step (as the job's own progress counts them). */
  iteration: number;
  /** 0..1 by the job's rule (src/kernel/fill-progress.ts). */
  progress: number;
  /** Hole pixels that changed in the step. */
  changed: number;
  preview?: LivePreview;
}

export interface LiveReply {
  /** The watcher shows previews: render them, within the budget. */
  previews: boolean;
}

const text = new TextEncoder();
const read = new TextDecoder();

export const encodeLive = (v: LiveHint | LiveReply): Uint8Array => text.encode(JSON.stringify(v));

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** A hint from the wire, or null when the bytes are not one (a watcher ignores those). */
export function decodeLiveHint(bytes: Uint8Array): LiveHint | null {
  try {
    const v = JSON.parse(read.decode(bytes)) as Partial<LiveHint>;
    if (!isCount(v.level) || !isCount(v.levels) || !isCount(v.iteration) || !isCount(v.changed)) return null;
    if (typeof v.progress !== 'number' || !(v.progress >= 0 && v.progress <= 1)) return null;
    const p = v.preview;
    if (p !== undefined && (typeof p?.id !== 'string' || !isCount(p.width) || !isCount(p.height) || typeof p.contentType !== 'string')) return null;
    return { level: v.level, levels: v.levels, iteration: v.iteration, progress: v.progress, changed: v.changed, ...(p ? { preview: { id: p.id, width: p.width, height: p.height, contentType: p.contentType } } : {}) };
  } catch {
    return null;
  }
}

export function decodeLiveReply(bytes: Uint8Array): LiveReply {
  try {
    return { previews: (JSON.parse(read.decode(bytes)) as Partial<LiveReply>).previews === true };
  } catch {
    return { previews: false };
  }
}
