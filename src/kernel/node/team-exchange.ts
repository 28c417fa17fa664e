// The members of a team run tell each other, per step, which result batches hold their share of
// the tiles (ids, tiles, per-tile ms): small core NATS messages on the job's team subject. The
// batch bytes themselves travel as result pushes (result-hints.ts) sent before the announcement
// on the same connection, so they are normally in the receiver's cache when the announcement
// arrives; else they are read from the store. A member that waits too long for a peer's
// announcement asks for it again (a member that joined late missed it: core NATS keeps nothing),
// and after `timeoutMs` gives up with a retryable coded error naming the peer: never a silent hang.
import { headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { CodedError } from '../../common/errors.ts';
import type { PatchworkNames } from '../../common/names.ts';
import { teamSubject } from '../cluster/registry.ts';
import type { BlobCache } from './blob-cache.ts';
import type { ResultHints } from './result-hints.ts';

/** One member's results of one step of a team run. */
export interface TeamAnnouncement {
  run: string;
  size: number;
  level: number;
  iteration: number;
  mode: 'iterate' | 'vote';
  member: number;
  /** The node that ran it (for errors and logs). */
  node: string;
  refs: { blobId: string; size: number; tiles: number[] }[];
  /** Milliseconds each tile took, by tile. */
  tileMs: Record<number, number>;
}

export type TeamStepKey = Pick<TeamAnnouncement, 'run' | 'size' | 'level' | 'iteration' | 'mode' | 'member'>;

export const teamKey = (k: TeamStepKey): string => `${k.run}/${k.size}/${k.level}/${k.iteration}/${k.mode}/${k.member}`;

const KIND_HEADER = 'pw-team';
/** Announcements kept per job (sent and received): a run of ~1 s has a few dozen steps per member. */
const KEEP = 1024;
/** First re-ask after this long without a peer's announcement, then doubling up to ASK_MAX_MS. */
const ASK_FIRST_MS = 150;
const ASK_MAX_MS = 2_000;

interface JobTeams {
  sub: Subscription;
  received: Map<string, TeamAnnouncement>;
  sent: Map<string, TeamAnnouncement>;
  waiters: Map<string, Set<(a: TeamAnnouncement) => void>>;
}

function remember(map: Map<string, TeamAnnouncement>, key: string, a: TeamAnnouncement): void {
  map.delete(key);
  map.set(key, a);
  if (map.size > KEEP) map.delete(map.keys().next().value!);
}

export class TeamExchange {
  readonly #nc: NatsConnection;
  readonly #names: PatchworkNames;
  readonly #nodeId: string;
  readonly #cache: BlobCache;
  readonly #hints: ResultHints;
  readonly #log: Logger;
  readonly #jobs = new Map<string, JobTeams>();
  asked = 0;
  resent = 0;

  constructor(nc: NatsConnection, names: PatchworkNames, nodeId: string, cache: BlobCache, hints: ResultHints, log: Logger) {
    this.#nc = nc;
    this.#names = names;
    this.#nodeId = nodeId;
    this.#cache = cache;
    this.#hints = hints;
    this.#log = log;
  }

  /** Starts receiving the job's announcements (idempotent): from a node's first call for the job. */
  follow(jobKey: string): void {
    if (this.#jobs.has(jobKey)) return;
    const job: JobTeams = { sub: undefined as unknown as Subscription, received: new Map(), sent: new Map(), waiters: new Map() };
    job.sub = this.#nc.subscribe(teamSubject(this.#names, jobKey), {
      callback: (err, msg) => {
        if (err) {
          this.#log.warn({ err, jobKey }, 'team subscription failed');
          return;
        }
        try {
          const kind = msg.headers?.get(KIND_HEADER);
          if (kind === 'ask') this.#answer(jobKey, job, new TextDecoder().decode(msg.data));
          else if (kind === 'results') this.#receive(job, JSON.parse(new TextDecoder().decode(msg.data)) as TeamAnnouncement);
        } catch (e) {
          this.#log.warn({ err: e, jobKey }, 'dropped a malformed team message');
        }
      },
    });
    this.#jobs.set(jobKey, job);
  }

  unfollow(jobKey: string): void {
    this.#jobs.get(jobKey)?.sub.unsubscribe();
    this.#jobs.delete(jobKey);
  }

  /** Tells the other members (and members on this node: the connection does not echo) where this member's results are. */
  announce(jobKey: string, a: TeamAnnouncement): void {
    const job = this.#jobs.get(jobKey);
    if (!job) throw new CodedError('INTERNAL', `team announcement for job ${jobKey}, which this node does not follow`, { retryable: true });
    const key = teamKey(a);
    remember(job.sent, key, a);
    this.#receive(job, a);
    this.#publish(jobKey, 'results', JSON.stringify(a));
  }

  /**
   * The announcement of `key`'s member, waiting for it up to `timeoutMs` (asking again meanwhile);
   * then a retryable TEAM_PEER_TIMEOUT. Rejects with CANCELLED when `signal` aborts.
   */
  wait(jobKey: string, key: TeamStepKey, timeoutMs: number, signal: AbortSignal, peerNode?: string): Promise<TeamAnnouncement> {
    const job = this.#jobs.get(jobKey);
    if (!job) return Promise.reject(new CodedError('INTERNAL', `team wait for job ${jobKey}, which this node does not follow`, { retryable: true }));
    const k = teamKey(key);
    const have = job.received.get(k);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      let askMs = ASK_FIRST_MS;
      let askTimer: NodeJS.Timeout;
      const set = job.waiters.get(k) ?? new Set();
      job.waiters.set(k, set);
      const done = (): void => {
        clearTimeout(askTimer);
        clearTimeout(timeout);
        signal.removeEventListener('abort', onAbort);
        set.delete(waiter);
        if (set.size === 0 && job.waiters.get(k) === set) job.waiters.delete(k);
      };
      const waiter = (a: TeamAnnouncement): void => {
        done();
        resolve(a);
      };
      const onAbort = (): void => {
        done();
        reject(new CodedError('CANCELLED', 'the caller cancelled the call'));
      };
      const ask = (): void => {
        this.asked++;
        if (askMs === ASK_FIRST_MS) this.#log.info({ jobKey, step: k }, 'team: no announcement from a peer yet; asked for it again');
        this.#publish(jobKey, 'ask', k);
        askMs = Math.min(ASK_MAX_MS, askMs * 2);
        askTimer = setTimeout(ask, askMs);
      };
      askTimer = setTimeout(ask, askMs);
      const timeout = setTimeout(() => {
        done();
        const who = peerNode ? ` (node ${peerNode})` : '';
        reject(
          new CodedError('TEAM_PEER_TIMEOUT', `member ${key.member}${who} of team run ${key.run} sent no results for level ${key.level} iteration ${key.iteration} (${key.mode}) within ${Math.round(timeoutMs)} ms`, {
            retryable: true,
            details: { member: key.member, node: peerNode, run: key.run },
          }),
        );
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      set.add(waiter);
      if (signal.aborted) onAbort();
    });
  }

  /** Asks the member of `key` to push its batches and announce them again (a push that never arrived). */
  ask(jobKey: string, key: TeamStepKey): void {
    this.asked++;
    this.#publish(jobKey, 'ask', teamKey(key));
  }

  #receive(job: JobTeams, a: TeamAnnouncement): void {
    const k = teamKey(a);
    remember(job.received, k, a);
    const set = job.waiters.get(k);
    if (set) for (const w of [...set]) w(a);
  }

  /** A member asks for an announcement it missed: resend it, with its batches if still held. */
  #answer(jobKey: string, job: JobTeams, key: string): void {
    const a = job.sent.get(key);
    if (!a) return;
    this.resent++;
    for (const ref of a.refs) {
      const bytes = this.#cache.peek(ref.blobId);
      if (bytes) this.#hints.publish(jobKey, ref.blobId, bytes);
    }
    this.#publish(jobKey, 'results', JSON.stringify(a));
  }

  #publish(jobKey: string, kind: 'results' | 'ask', body: string): void {
    const h = headers();
    h.set(KIND_HEADER, kind);
    h.set('pw-node', this.#nodeId);
    this.#nc.publish(teamSubject(this.#names, jobKey), new TextEncoder().encode(body), { headers: h });
  }

  close(): void {
    for (const job of this.#jobs.values()) job.sub.unsubscribe();
    this.#jobs.clear();
  }
}
