// Watching a job: the current state first, then every change, the final state last. It reads
// the job's history from JetStream (any process can serve any job, no host involved): a pump
// folds the events into the job's record as fast as they come, and the consumer is handed the
// newest view whenever it asks. A slow consumer therefore gets intermediate states coalesced
// (the newest wins) and the pump holds one record, never a queue; the final state always
// arrives, because it is the last thing the pump publishes.
//
// Given a live subject, the watch also takes the job's live progress (src/common/live-hints.ts):
// it answers each hint (asking for previews: someone is watching), makes a live preview readable
// by the job's tenant before showing it, and lays the hints over the history's view
// (live-overlay.ts). Hints only ever add newer progress; the history's states all still come.
import { decodeLiveHint, encodeLive } from '../../common/live-hints.ts';
import type { ActorClient } from '../client.ts';
import { JobFold, jobView, type JobRecord } from './job-view.ts';
import { LiveOverlay } from './live-overlay.ts';
import type { JobView } from './types.ts';

/** Where a watch takes live progress from, and how it lets the watcher read a live preview. */
export interface LiveSource {
  subject: string;
  /** Records that the job's tenant may read this preview blob. */
  allow(blobId: string): Promise<void>;
}

const WANT_PREVIEWS = encodeLive({ previews: true });

/** The stream sequence of the last message of the job's history (0 when there is none). */
async function lastHistorySeq(client: ActorClient, id: string): Promise<number> {
  const { jsm, names } = client.storage;
  try {
    const m = await jsm.streams.getMessage(names.stream, { last_by_subj: names.historySubject(id) });
    return m?.seq ?? 0;
  } catch (err) {
    if ((err as { code?: unknown }).code === '404' || /no message found/i.test((err as Error).message)) return 0;
    throw err;
  }
}

export async function* watchJob(client: ActorClient, id: string, indexed: JobRecord, terminalInIndex: boolean, signal?: AbortSignal, live?: LiveSource): AsyncGenerator<JobView, void, undefined> {
  // Finished (or purged) jobs: the index holds the final state.
  if (terminalInIndex) {
    yield jobView(indexed);
    return;
  }
  const stop = new AbortController();
  const fold = new JobFold(id);
  const box: { latest: JobView | null } = { latest: null };
  let done = false;
  let failure: unknown;
  let wake: (() => void) | null = null;
  const publish = (v: JobView | null) => {
    if (v) box.latest = v;
    const w = wake;
    wake = null;
    w?.();
  };
  const onAbort = () => {
    stop.abort();
    publish(null);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const overlay = new LiveOverlay();
  let durable: JobView | null = null;
  const show = () => {
    const v = durable && overlay.view(durable);
    if (v) publish(v);
  };
  const hints = live ? client.storage.nc.subscribe(live.subject) : null;
  const livePump = hints
    ? (async () => {
        for await (const m of hints) {
          m.respond(WANT_PREVIEWS);
          const h = decodeLiveHint(m.data);
          if (!h) continue;
          if (h.preview) {
            // A preview the tenant could not download is not shown.
            try {
              await live!.allow(h.preview.id);
            } catch {
              delete h.preview;
            }
          }
          if (overlay.hint(h)) show();
        }
      })()
    : null;
  const pump = (async () => {
    try {
      const upTo = await lastHistorySeq(client, id);
      let caughtUp = upTo === 0;
      let shown = -1;
      for await (const r of client.watch(id, { from: 'start', signal: stop.signal })) {
        fold.apply(r.event, r.value, r.time);
        // Caught up once the message that was last when the watch began is folded WHOLE: one
        // message holds a group commit's events (a team run commits many StatusSets at once), and
        // a state from its middle would be older than what the job index already showed.
        if (r.seq > upTo || (r.seq === upTo && r.last)) caughtUp = true;
        if (!caughtUp || fold.record.tenant === '') continue;
        const v = jobView(fold.record);
        if (v.version !== shown) {
          shown = v.version;
          durable = v;
          show();
        }
      }
    } catch (err) {
      if (!stop.signal.aborted) failure = err;
    } finally {
      done = true;
      publish(null);
    }
  })();
  let delivered = -1;
  try {
    for (;;) {
      if (signal?.aborted) return;
      const v = box.latest;
      if (v !== null && v.version !== delivered) {
        delivered = v.version;
        yield v;
        if (v.status === 'COMPLETED' || v.status === 'FAILED' || v.status === 'CANCELED') return;
        continue;
      }
      if (done) {
        if (failure) throw failure;
        // The history ended without a terminal event we saw (purged under us): the index knows.
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Not awaited: the history consumer may take a while to notice it was closed.
    stop.abort();
    pump.catch(() => undefined);
    hints?.unsubscribe();
    livePump?.catch(() => undefined);
  }
}
