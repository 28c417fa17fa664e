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
// and stay in the members' caches (a peer that asks again is answered from there). The member
// given `live` publishes each step's progress, and previews while watched (live-progress.ts).
//
// A peer whose announcement does not come within the wait (max(teamWaitMs, 10x the member's own
// step time)), or whose announced batches cannot be read by then, is absent for the rest of the
// run: the member computes its share itself (team-peers.ts), so it never fails for want of a peer.
import { CodedError } from '../../common/errors.ts';
import type { LivePreview } from '../../common/live-hints.ts';
import { assemble, assembleValues, converged } from '../assemble.ts';
import { fillFraction } from '../fill-progress.ts';
import { initFromCoarser } from '../init-level.ts';
import type { TileMode } from '../pool-protocol.ts';
import type { ImageFormat } from '../image-io.ts';
import type { LevelState, LevelStatic, TileResult } from '../types.ts';
import { formatFromWire, modeToWire } from '../cluster/wire.ts';
import { teamShares } from '../cluster/team-shares.ts';
import type { ResultRef, StepReport, StepRequest, StepResponse, TeamSpec } from '../generated/patchwork/kernel/v1/kernel.ts';
import { badRequest, type CallControl, type ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';
import { levelOf } from './job-inputs.ts';
import { LiveProgress } from './live-progress.ts';
import type { PreparedJob } from './job-cache.ts';
import { encodeHeader } from './state-headers.ts';
import { stateKey } from './state-cache.ts';
import { startState } from './step-start.ts';
import { storeImage } from './store-image.ts';
import { TeamPeers, type PeerResults } from './team-peers.ts';
import { teamTopState } from './team-start.ts';
import { runTiles } from './tile-runner.ts';

/** A peer's step counts as lost after this many times the member's own step time (or the node's teamWaitMs, if longer). */
const WAIT_FACTOR = 10;

function tileTargets(s: LevelStatic): number[] {
  const out: number[] = [];
  for (let k = 0; k + 1 < s.tileTargetStart.length; k++) out.push(s.tileTargetStart[k + 1] - s.tileTargetStart[k]);
  return out;
}

const round = (x: number): number => Math.round(x * 10) / 10;

const byFirstTile = (a: ResultRef, b: ResultRef): number => a.tiles[0] - b.tiles[0];

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
  const peers = new TeamPeers(deps, job, team, usage, signal);
  const live = team.live ? new LiveProgress(deps.nc, team.live, deps.log) : null;
  const previewFormat = team.live?.previewFormat !== undefined ? formatFromWire(team.live.previewFormat) : null;
  const targetCounts = levels.map((l) => l.targetPixels.length);

  let mode = startMode;
  let s = levelOf(job, req.level);
  // The top level's initial state is peeled by member 0 alone and handed to the others.
  const initTop = team.size > 1 ? (top: LevelStatic): Promise<LevelState> => teamTopState(deps, job, top, team, peers, usage, control) : undefined;
  const start = await startState(deps, job, req, mode, usage, initTop);
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
      const from = state;
      const count = level.tiles.length >> 2;
      // Balanced by target counts: a function of the level and the team size only. Not by the
      // tile times of the step before: a member run again after a failure (same run id: the job
      // retries one member, the others keep going) would see other times than its peers saw
      // and split differently, and the members' results would overlap (found by the fault suite).
      const shares = teamShares(tileTargets(level), team.size);
      // Whether this step's results must be durable whatever comes: known before it runs, except
      // for a run that ends because its range ends (a converged level), found after assembly.
      const endsByBudget = budget > 0 && spent + level.targetPixels.length >= budget;
      const storeNow = storeEvery || stepMode === 'vote' || endsByBudget;
      const t0 = performance.now();
      const run = await runTiles(deps, job, level.level, from, shares[team.index], stepMode, usage, team.size > 1, signal, true, storeNow);
      const ownMs = performance.now() - t0;
      stores.push(run.refs);
      const key = { run: team.run, size: team.size, level: level.level, iteration: from.iteration, mode: stepMode };
      const tTiles = performance.now();
      let peerStep: PeerResults = { answered: [], results: [], absentMs: {}, announcedAt: tTiles };
      if (team.size > 1) {
        // A batch that could not be pushed reaches the peers through the store only: store first.
        if (!run.allPushed) await run.refs;
        deps.team.announce(job.key, { ...key, member: team.index, node: deps.nodeId, refs: run.known, tileMs: run.tileMs });
        peerStep = await peers.gather({ key, level: level.level, from, mode: stepMode, shares, waitMs: Math.max(deps.teamWaitMs, WAIT_FACTOR * ownMs) });
      }
      const tPeers = peerStep.announcedAt;
      const others = peerStep.answered;
      const peerRefs = others.flatMap((a) => a.refs);
      const all = [...run.results, ...peerStep.results].sort((a, b) => a.tile - b.tile);
      if (all.length !== count || all.some((r, i) => r.tile !== i)) {
        throw new CodedError('BAD_DATA', `team run ${team.run}: the members' results of level ${level.level} iteration ${from.iteration} do not cover tiles 0..${count - 1} once each`);
      }
      const tileMs: Record<number, number> = { ...run.tileMs, ...peerStep.absentMs };
      for (const a of others) Object.assign(tileMs, a.tileMs);
      const allRefs = [...run.known, ...peerRefs].sort(byFirstTile);
      const report: StepReport = {
        level: level.level,
        iteration: from.iteration,
        mode: modeToWire(stepMode),
        changed: all.reduce((n, r) => n + r.changed, 0),
        results: allRefs,
        converged: false,
        tileMs,
        startState: Buffer.from(encodeHeader(from)),
        stored: [],
      };
      if (storeNow) {
        // Observed at once: the stores are awaited only at the run's end, and a store that fails
        // before (JetStream unavailable while NATS servers restart) must fail this call there, not
        // kill the node as an unhandled rejection (found by the fault suite's NATS rolling restart).
        const stored = run.refs.then((refs) => (report.stored = refs));
        stored.catch(() => undefined);
        stores.push(stored);
      }
      reports.push(report);
      spent += level.targetPixels.length;
      if (stepMode === 'vote') break;
      const tRead = performance.now();
      state = usage.time(() => assemble(level, from, all, options));
      report.converged = converged(level, state, options);
      const stepMs = performance.now() - t0;
      deps.log.debug({ run: team.run, member: team.index, level: level.level, iteration: from.iteration, tiles: shares[team.index].length, tilesMs: round(tTiles - t0), waitMs: round(tPeers - tTiles), readMs: round(tRead - tPeers), absent: peers.absentCount, assembleMs: round(performance.now() - tRead) }, 'team step');
      if (signal.aborted) throw new CodedError('CANCELLED', 'the caller cancelled the call');
      const stop = (budget > 0 && spent >= budget) || (report.converged && !goOn());
      if (live) {
        const done = from.iteration + 1;
        const hint = { level: level.level, levels: levels.length, iteration: done, progress: fillFraction(targetCounts, options.maxIterations, level.level, done), changed: report.changed };
        // No live preview of the run's last step: the job previews it, and the answer would wait for it.
        const render = previewFormat && !stop ? (): Promise<LivePreview> => livePreview(deps, job, level, from, all, previewFormat, usage) : null;
        live.step(hint, stepMs, render);
      }
      if (stop) {
        if (!storeNow) stores.push(run.storeHeld().then((refs) => (report.stored = refs)));
        // The next run (any member) starts from exactly these results: keep the state it assembles
        // (not when a peer was absent: its refs are unknown here, so no request would name them all).
        if (peers.absentCount === 0) deps.states.set(stateKey(job.key, report.startState, allRefs.map((r) => r.blobId)), state);
        break;
      }
    }
    if (live) stores.push(live.settled());
    await Promise.all(stores);
  } catch (e) {
    await Promise.allSettled(stores);
    throw e;
  }
  return { reports, usage: usage.toWire(deps.nodeId), levelConverged: false };
}

/** A step's picture at full size, stored: the job's preview of a step, made by the member. */
async function livePreview(deps: ServiceDeps, job: PreparedJob, s: LevelStatic, from: LevelState, results: readonly TileResult[], format: ImageFormat, usage: CallUsage): Promise<LivePreview> {
  const values = usage.time(() => assembleValues(s, from, results));
  const { image, ms } = await deps.pool.preview(job.key, s.level, values);
  usage.kernelMs += ms;
  const ref = await storeImage(deps, image, format, usage);
  return { id: ref.id, width: image.width, height: image.height, contentType: `image/${format}` };
}
