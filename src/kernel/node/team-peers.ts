// A team member's view of its peers over one team run (team-run.ts): per step, it waits for the
// peers' announcements, reads their result batches, and stands in for any peer found absent.
//
// A peer whose announcement does not come within the wait, or whose announced batches cannot be
// read by then, is ABSENT for the rest of the run: the member computes that peer's share itself,
// that step and every later one without waiting (deterministic: the same bytes as the peer's), and
// neither pushes nor stores those results (an absent peer that answered before, e.g. a member the
// job recorded before its host crashed, stored its own; one that did not is run again by its
// caller). So a member never fails for want of a peer.
import { isCodedError } from '../../common/errors.ts';
import type { TileMode } from '../pool-protocol.ts';
import type { LevelState, TileResult } from '../types.ts';
import type { TeamSpec } from '../generated/patchwork/kernel/v1/kernel.ts';
import type { ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';
import { readResults } from './job-inputs.ts';
import type { PreparedJob } from './job-cache.ts';
import type { TeamAnnouncement, TeamStepKey } from './team-exchange.ts';
import { runTiles } from './tile-runner.ts';

/** Pause between store reads of a peer's batch that is not stored yet (its push was lost). */
const STORE_RETRY_MS = 50;

/**
 * A peer's results: normally pushed (cache hits); else from the store, where they may land a
 * little later. A batch not stored (store_last_step_only) that did not arrive is asked for again:
 * its member's node pushes it once more from its cache. `undefined` when they still cannot be read
 * at `deadline` (neither pushed nor stored, nor pushed again when asked): the member then computes
 * that peer's share itself.
 */
async function readPeerResults(deps: ServiceDeps, jobKey: string, from: TeamAnnouncement, usage: CallUsage, deadline: number, signal: AbortSignal): Promise<TileResult[] | undefined> {
  for (let tries = 0; ; tries++) {
    try {
      return await readResults(deps, from.refs, usage);
    } catch (e) {
      if (!isCodedError(e) || e.code !== 'BLOB_NOT_FOUND' || signal.aborted) throw e;
      if (performance.now() > deadline) return undefined;
      if (tries % 20 === 0 && from.refs.some((r) => !deps.cache.has(r.blobId))) deps.team.ask(jobKey, from);
      await new Promise((r) => setTimeout(r, STORE_RETRY_MS));
    }
  }
}

/** One step as the peers' side sees it. */
export interface PeerStep {
  /** The step's key in the exchange, without the member. */
  key: Omit<TeamStepKey, 'member'>;
  level: number;
  from: LevelState;
  mode: TileMode;
  /** The shares of every member of the step (index = member). */
  shares: readonly (readonly number[])[];
  /** How long to wait for a peer's announcement, and then for its results, before it counts as absent. */
  waitMs: number;
}

/** What the peers gave for a step. */
export interface PeerResults {
  /** Announcements of the peers that answered, by member. */
  answered: TeamAnnouncement[];
  /** Their results and those computed here for absent peers (never pushed nor stored here). */
  results: TileResult[];
  /** Tile times of the tiles computed here for absent peers. */
  absentMs: Record<number, number>;
  /** When the last announcement came (performance.now()). */
  announcedAt: number;
}

export class TeamPeers {
  readonly #deps: ServiceDeps;
  readonly #job: PreparedJob;
  readonly #team: TeamSpec;
  readonly #usage: CallUsage;
  readonly #signal: AbortSignal;
  readonly #peers: number[];
  /** Node of each peer as last seen (for a timeout's message). */
  readonly #nodes = new Map<number, string>();
  /** Peers found absent (no announcement, or unreadable results, by the wait's deadline): not waited for again in this run. */
  readonly #absent = new Set<number>();

  constructor(deps: ServiceDeps, job: PreparedJob, team: TeamSpec, usage: CallUsage, signal: AbortSignal) {
    this.#deps = deps;
    this.#job = job;
    this.#team = team;
    this.#usage = usage;
    this.#signal = signal;
    this.#peers = Array.from({ length: team.size }, (_, m) => m).filter((m) => m !== team.index);
  }

  /** Peers found absent so far in this run. */
  get absentCount(): number {
    return this.#absent.size;
  }

  /** Counts `member` absent for the rest of the run (it missed the run's start, team-start.ts): its shares are computed here. */
  markAbsent(member: number, level: number, iteration: number, why: string): void {
    if (member === this.#team.index || this.#absent.has(member)) return;
    this.#absent.add(member);
    this.#deps.log.warn({ run: this.#team.run, member: this.#team.index, peer: member, level, iteration, reason: why }, 'team: a peer is absent; computing its share here for the rest of the run');
  }

  /** The peers' results of a step: waited for, read, or computed here for absent peers. */
  async gather(step: PeerStep): Promise<PeerResults> {
    const { key, waitMs } = step;
    const jobKey = this.#job.key;
    const out: PeerResults = { answered: [], results: [], absentMs: {}, announcedAt: performance.now() };
    const lost: { member: number; why: string }[] = [];
    // Peers already absent are not waited for: their share is computed here meanwhile.
    const [answers] = await Promise.all([
      Promise.all(
        this.#peers
          .filter((m) => !this.#absent.has(m))
          .map((m) =>
            this.#deps.team.wait(jobKey, { ...key, member: m }, waitMs, this.#signal, this.#nodes.get(m)).catch((e: unknown) => {
              if (!isCodedError(e) || e.code !== 'TEAM_PEER_TIMEOUT') throw e;
              lost.push({ member: m, why: e.message });
              return undefined;
            }),
          ),
      ),
      this.#runAbsent(step, this.#peers.filter((m) => this.#absent.has(m)), out),
    ]);
    out.announcedAt = performance.now();
    const readDeadline = out.announcedAt + waitMs;
    const read = await Promise.all(
      answers.map(async (a) => {
        if (!a) return undefined;
        this.#nodes.set(a.member, a.node);
        const results = await readPeerResults(this.#deps, jobKey, a, this.#usage, readDeadline, this.#signal);
        if (!results) lost.push({ member: a.member, why: `its results for level ${a.level} iteration ${a.iteration} (node ${a.node}) could not be read within ${Math.round(waitMs)} ms` });
        return results ? { a, results } : undefined;
      }),
    );
    for (const r of read) {
      if (!r) continue;
      out.answered.push(r.a);
      out.results.push(...r.results);
    }
    if (lost.length > 0) {
      // Deterministic: any member computing a tile gives the same bytes, so the run goes on
      // without the peer (its node may be gone after it answered: a job-host crash and then
      // that node's crash). Its own results are its to store: this member never stores them.
      lost.sort((x, y) => x.member - y.member);
      for (const l of lost) {
        this.#absent.add(l.member);
        this.#deps.log.warn({ run: this.#team.run, member: this.#team.index, peer: l.member, node: this.#nodes.get(l.member), level: step.level, iteration: step.from.iteration, reason: l.why }, 'team: a peer is absent; computing its share here for the rest of the run');
      }
      await this.#runAbsent(step, lost.map((l) => l.member), out);
    }
    out.answered.sort((x, y) => x.member - y.member);
    return out;
  }

  /** The tiles of absent peers, computed here (deterministic: the bytes their members would give), never pushed nor stored. */
  async #runAbsent(step: PeerStep, members: readonly number[], out: PeerResults): Promise<void> {
    if (members.length === 0) return;
    const tiles = members.flatMap((m) => step.shares[m]);
    const r = await runTiles(this.#deps, this.#job, step.level, step.from, tiles, step.mode, this.#usage, false, this.#signal, false, false, false);
    out.results.push(...r.results);
    Object.assign(out.absentMs, r.tileMs);
  }
}
