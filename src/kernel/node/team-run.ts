// One member of a team run: a Step that runs, together with the other members (each its own
// Step call on its own node), every step from (level, iteration) through `continue_through_level`
// (and level 0's VOTE step when asked), in lockstep, with no client round trip per step.
//
// Per step, every member runs its share of the tiles (team-shares.ts: a function of the level and
// the team size only), pushes its result batches to the peers and announces their ids
// (team-exchange.ts), starts storing them (not awaited: durability is settled before the answer),
// waits for the other members' announcements, assembles the next state from all tiles in tile
// order, exactly as in-process, and decides convergence by the kernel's rule: every member
// computes the same state, so every member decides the same. The run ends at the end of its range
// or after the step at which the budget of target patches is spent (deterministic: all members,
// and a retried run, stop after the same step). The answer lists per step every tile's refs and,
// in `stored`, this member's own, all durable by then. With `store_last_step_only` only the run's
// last step is stored (the next run starts from it); the others' results travel as pushes only
// and stay in the members' caches (a peer that asks again is answered from there).
import { CodedError, isCodedError } from '../../common/errors.ts';
import { assemble, converged } from '../assemble.ts';
import { initFromCoarser } from '../init-level.ts';
import type { TileMode } from '../pool-protocol.ts';
import type { LevelState, LevelStatic, TileResult } from '../types.ts';
import { modeToWire } from '../cluster/wire.ts';
import { teamShare } from '../cluster/team-shares.ts';
import type { ResultRef, StepReport, StepRequest, StepResponse, TeamSpec } from '../generated/patchwork/kernel/v1/kernel.ts';
import { badRequest, type CallControl, type ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';
import { levelOf, readResults } from './job-inputs.ts';
import type { PreparedJob } from './job-cache.ts';
import { encodeHeader } from './state-headers.ts';
import { stateKey } from './state-cache.ts';
import { startState } from './step-start.ts';
import type { TeamAnnouncement, TeamStepKey } from './team-exchange.ts';
import { runTiles, shareState, type TileRun } from './tile-runner.ts';

/** A peer's step counts as lost after this many times the member's own step time (or the node's teamWaitMs, if longer). */
const WAIT_FACTOR = 10;
/** Pause between store reads of a peer's batch that is not stored yet (its push was lost). */
const STORE_RETRY_MS = 50;

function tileTargets(s: LevelStatic): number[] {
  const out: number[] = [];
  for (let k = 0; k + 1 < s.tileTargetStart.length; k++) out.push(s.tileTargetStart[k + 1] - s.tileTargetStart[k]);
  return out;
}

const round = (x: number): number => Math.round(x * 10) / 10;

const byFirstTile = (a: ResultRef, b: ResultRef): number => a.tiles[0] - b.tiles[0];

/**
 * The peers' results: normally pushed (cache hits); else from the store, where they may land a
 * little later. A batch not stored (store_last_step_only) that did not arrive is asked for again:
 * its member's node pushes it once more from its cache.
 */
async function readPeerResults(deps: ServiceDeps, jobKey: string, from: readonly TeamAnnouncement[], usage: CallUsage, deadline: number, signal: AbortSignal): Promise<TileResult[]> {
  const refs = from.flatMap((a) => a.refs);
  for (let tries = 0; ; tries++) {
    try {
      return await readResults(deps, refs, usage);
    } catch (e) {
      if (!isCodedError(e) || e.code !== 'BLOB_NOT_FOUND' || performance.now() > deadline || signal.aborted) throw e;
      if (tries % 20 === 0) for (const a of from) if (a.refs.some((r) => !deps.cache.has(r.blobId))) deps.team.ask(jobKey, a);
      await new Promise((r) => setTimeout(r, STORE_RETRY_MS));
    }
  }
}

/**
 * Tiles this member may take from a slower member (work stealing): up to `max` from the end of one
 * peer's share that nobody claimed and that lie after the peer's front (once known: everything
 * there is claimed, so nothing is left); the peer with the most such tiles. Null: nothing to take.
 */
function stealable(deps: ServiceDeps, jobKey: string, key: Omit<TeamStepKey, 'member'>, shares: readonly number[][], self: number, max: number): { owner: number; tiles: number[] } | null {
  let best: { owner: number; tiles: number[]; left: number } | null = null;
  for (const [owner, share] of shares.entries()) {
    if (owner === self) continue;
    const ownerKey = { ...key, member: owner };
    const front = deps.claims.frontOf(jobKey, ownerKey) ?? -1;
    const tiles: number[] = [];
    let left = 0;
    for (let i = share.length - 1; i > front; i--) {
      if (deps.claims.claimed(jobKey, ownerKey, share[i])) continue;
      left++;
      if (tiles.length < max) tiles.push(share[i]);
    }
    if (tiles.length > 0 && (!best || left > best.left)) best = { owner, tiles, left };
  }
  return best && { owner: best.owner, tiles: best.tiles };
}

/**
 * The refs that count for a step, in tile order: every batch of a member holding only tiles of its
 * own share, and of the batches of stolen tiles (one tile each) those whose tile its owner did not
 * run and no lower member also stole.
 */
function keptRefs(members: readonly { member: number; refs: readonly ResultRef[] }[], shares: readonly number[][]): ResultRef[] {
  const ownerOf = new Map<number, number>();
  shares.forEach((share, m) => share.forEach((t) => ownerOf.set(t, m)));
  const ranByOwner = new Set<number>();
  const kept: ResultRef[] = [];
  const stolen: { member: number; ref: ResultRef }[] = [];
  for (const a of members) {
    for (const ref of a.refs) {
      if (ref.tiles.every((t) => ownerOf.get(t) === a.member)) {
        kept.push(ref);
        for (const t of ref.tiles) ranByOwner.add(t);
      } else stolen.push({ member: a.member, ref });
    }
  }
  const taken = new Set<number>();
  for (const { ref } of stolen.sort((x, y) => x.member - y.member)) {
    const t = ref.tiles[0];
    if (ref.tiles.length !== 1 || ranByOwner.has(t) || taken.has(t)) continue;
    taken.add(t);
    kept.push(ref);
  }
  return kept.sort(byFirstTile);
}

function checkTeam(req: StepRequest, team: TeamSpec): void {
  if (!team.run) throw badRequest('a team run needs a run id (team.run)');
  if (team.size < 1 || team.index >= team.size) throw badRequest(`team member ${team.index} of ${team.size} does not exist`);
  if (req.tiles.length > 0 || req.nextTiles.length > 0 || req.advance) throw badRequest('a team run splits the tiles itself: leave tiles and next_tiles empty and advance unset');
  const through = req.continueThroughLevel ?? req.level;
  if (through > req.level) throw badRequest(`continue_through_level ${through} is above the starting level ${req.level}`);
  if (team.includeVote && through !== 0) throw badRequest('include_vote needs continue_through_level 0');
}

export async function teamRun(deps: ServiceDeps, job: PreparedJob, req: StepRequest, team: TeamSpec, startMode: TileMode, usage: CallUsage, control: CallControl): Promise<StepResponse> {
  checkTeam(req, team);
  const { levels, options } = job;
  const { signal } = control;
  const through = req.continueThroughLevel ?? req.level;
  const budget = Number(team.budgetTargets);
  const storeEvery = !team.storeLastStepOnly;
  const steal = team.size > 1 && team.steal === true;
  const peers = Array.from({ length: team.size }, (_, m) => m).filter((m) => m !== team.index);
  /** Node of each peer as last seen (for a timeout's message). */
  const peerNodes = new Map<number, string>();

  let mode = startMode;
  let s = levelOf(job, req.level);
  const start = await startState(deps, job, req, mode, usage);
  let state: LevelState = start.state;
  /** Moves on to the step after a converged level, if the run's range has one. */
  const goOn = (): boolean => {
    if (mode === 'iterate' && s.level > through) {
      const coarse = s;
      const coarseState = state;
      s = levels[s.level - 1];
      const fine = s;
      state = usage.time(() => initFromCoarser(fine, coarse, coarseState, options));
      return true;
    }
    if (mode === 'iterate' && s.level === 0 && team.includeVote) {
      mode = 'vote';
      return true;
    }
    return false;
  };
  if (start.converged && !goOn()) return { reports: [], usage: usage.toWire(deps.nodeId), levelConverged: true };

  const reports: StepReport[] = [];
  const stores: Promise<unknown>[] = [];
  let spent = 0;
  try {
    for (;;) {
      const stepMode = mode;
      const level = s;
      // On shared memory once: every tile run of the step (own, stolen) hands it to workers as is.
      const from = usage.time(() => shareState(state));
      const count = level.tiles.length >> 2;
      // Balanced by target counts: a function of the level and the team size only. Not by the
      // tile times of the step before: a member run again after a failure (same run id: the job
      // retries one member, the others keep going) would see other times than its peers saw
      // and split differently, and the members' results would overlap (found by the fault suite).
      const targets = tileTargets(level);
      const shares = Array.from({ length: team.size }, (_, m) => teamShare(targets, team.size, m));
      const share = shares[team.index];
      const key = { run: team.run, size: team.size, level: level.level, iteration: from.iteration, mode: stepMode };
      const ownKey = { ...key, member: team.index };
      // Whether this step's results must be durable whatever comes: known before it runs, except
      // for a run that ends because its range ends (a converged level), found after assembly.
      const endsByBudget = budget > 0 && spent + level.targetPixels.length >= budget;
      const storeNow = storeEvery || stepMode === 'vote' || endsByBudget;
      const t0 = performance.now();
      const runs: TileRun[] = [
        await runTiles(deps, job, level.level, from, share, stepMode, usage, {
          push: team.size > 1,
          signal,
          announce: true,
          store: storeNow,
          // Work stealing: skip own tiles a peer claimed, and tell thieves where this member stopped.
          ...(steal ? { skip: (t: number) => deps.claims.claimed(job.key, ownKey, t), onAllStarted: (i: number) => deps.claims.setFront(job.key, ownKey, i) } : {}),
        }),
      ];
      const tOwn = performance.now();
      if (steal) {
        // Take tiles from the end of slower members' shares, a few at a time, until nothing is left
        // that they have not started or another member has not claimed.
        for (;;) {
          const take = stealable(deps, job.key, key, shares, team.index, deps.pool.size);
          if (!take) break;
          for (const t of take.tiles) deps.claims.claim(job.key, { ...key, member: take.owner }, t);
          runs.push(await runTiles(deps, job, level.level, from, take.tiles, stepMode, usage, { push: true, signal, announce: true, store: storeNow, batchPerTile: true }));
        }
      }
      const ownMs = performance.now() - t0;
      for (const r of runs) stores.push(r.refs);
      const known = runs.flatMap((r) => r.known);
      const ranMs: Record<number, number> = Object.assign({}, ...runs.map((r) => r.tileMs)) as Record<number, number>;
      const tTiles = performance.now();
      let others: TeamAnnouncement[] = [];
      if (team.size > 1) {
        // A batch that could not be pushed reaches the peers through the store only: store first.
        for (const r of runs) if (!r.allPushed) await r.refs;
        deps.team.announce(job.key, { ...ownKey, node: deps.nodeId, refs: known, tileMs: ranMs });
        const waitMs = Math.max(deps.teamWaitMs, WAIT_FACTOR * ownMs);
        others = await Promise.all(peers.map((m) => deps.team.wait(job.key, { ...key, member: m }, waitMs, signal, peerNodes.get(m))));
        for (const a of others) peerNodes.set(a.member, a.node);
      }
      const tPeers = performance.now();
      // Every tile once: a tile run twice (stolen, but started by its owner too) counts as the
      // owner's copy, else the lowest member's. Every member decides the same from the same
      // announcements.
      // (By ref, not by blob id: a stolen tile's batch and the owner's batch of that tile alone
      // have the same bytes, so the same id.)
      const kept = keptRefs([{ member: team.index, refs: known }, ...others], shares);
      const keptSet = new Set(kept);
      const peerKept = others.map((a) => ({ ...a, refs: a.refs.filter((r) => keptSet.has(r)) }));
      const peerResults = peerKept.some((a) => a.refs.length > 0) ? await readPeerResults(deps, job.key, peerKept, usage, performance.now() + Math.max(deps.teamWaitMs, WAIT_FACTOR * ownMs), signal) : [];
      // This member's batches that count, by first tile (unique among its own: it never runs a tile twice).
      const ownKept = new Set(known.filter((r) => keptSet.has(r)).flatMap((r) => r.tiles));
      const own = runs.flatMap((r) => r.results).filter((r) => ownKept.has(r.tile));
      const all = [...own, ...peerResults].sort((a, b) => a.tile - b.tile);
      if (all.length !== count || all.some((r, i) => r.tile !== i)) {
        throw new CodedError('BAD_DATA', `team run ${team.run}: the members' results of level ${level.level} iteration ${from.iteration} do not cover tiles 0..${count - 1} once each (got ${all.map((r) => r.tile).join(',')}; announced ${[{ member: team.index, refs: known }, ...others].map((x) => `${x.member}:${x.refs.map((r) => r.tiles.join('+')).join(' ')}`).join('; ')})`);
      }
      const tileMs: Record<number, number> = { ...ranMs };
      for (const a of others) Object.assign(tileMs, a.tileMs);
      const report: StepReport = {
        level: level.level,
        iteration: from.iteration,
        mode: modeToWire(stepMode),
        changed: all.reduce((n, r) => n + r.changed, 0),
        results: kept,
        converged: false,
        tileMs,
        startState: Buffer.from(encodeHeader(from)),
        stored: [],
      };
      /** This member's durable refs of the step: every batch it stored that counts. */
      const storedOf = (refs: Promise<ResultRef[]>[]): Promise<ResultRef[]> => Promise.all(refs).then((rs) => (report.stored = rs.flat().filter((r) => ownKept.has(r.tiles[0])).sort(byFirstTile)));
      if (storeNow) stores.push(storedOf(runs.map((r) => r.refs)));
      reports.push(report);
      spent += level.targetPixels.length;
      if (stepMode === 'vote') break;
      const tRead = performance.now();
      state = usage.time(() => assemble(level, from, all, options));
      report.converged = converged(level, state, options);
      deps.log.debug({ run: team.run, member: team.index, level: level.level, iteration: from.iteration, tiles: share.length, stolen: runs.length > 1 ? runs.slice(1).reduce((n, r) => n + r.results.length, 0) : 0, skipped: runs[0].skipped.length, ownMs: round(tOwn - t0), tilesMs: round(tTiles - t0), waitMs: round(tPeers - tTiles), readMs: round(tRead - tPeers), assembleMs: round(performance.now() - tRead) }, 'team step');
      if (signal.aborted) throw new CodedError('CANCELLED', 'the caller cancelled the call');
      const stop = (budget > 0 && spent >= budget) || (report.converged && !goOn());
      if (stop) {
        // Held batches that count are stored now (a stolen copy that does not count is dropped).
        if (!storeNow) stores.push(storedOf(runs.filter((r) => r.known.some((k) => keptSet.has(k))).map((r) => r.storeHeld())));
        // The next run (any member) starts from exactly these results: keep the state it assembles.
        deps.states.set(stateKey(job.key, report.startState, kept.map((r) => r.blobId)), state);
        break;
      }
    }
    await Promise.all(stores);
  } catch (e) {
    await Promise.allSettled(stores);
    throw e;
  }
  return { reports, usage: usage.toWire(deps.nodeId), levelConverged: false };
}
