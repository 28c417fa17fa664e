// The top level's initial state of a team run, computed once: member 0 peels the hole (the
// top level's `initTopLevel`, ~70-130 ms of a node's main thread on a 1024x768 photo, the
// largest item there in a V8 profile) and hands the state to the other members, which used to
// peel it too, each its own identical copy (deterministic: seeded by seed and level only).
// Member 0's worker threads, idle before the run's first step, peel alongside its main thread
// (peel.ts's shared peel, as the in-process pool does: same bytes), so the others wait less.
//
// The state travels like a step's results: its encoded bytes are pushed on the job's result
// subject (a cache warmer, hashed by the receiver before it keeps them; stored in the Object
// Store instead when they cannot be pushed) and member 0 announces their id in the team exchange
// under the step key (top level, iteration -1), so a member that joined late asks for it again
// and is answered from member 0's cache. A member that gets no announcement within the wait, or
// cannot read or decode what was announced, peels the state itself (the same bytes) and, when
// member 0 never announced, treats member 0 as absent for the run (team-peers.ts), as a peer
// that misses a step: never a failure for want of member 0.
import { blobIdOf } from '../../common/blob-store.ts';
import { isCodedError } from '../../common/errors.ts';
import { decodeLevelState, encodeLevelState } from '../codec.ts';
import type { LevelState, LevelStatic } from '../types.ts';
import type { TeamSpec } from '../generated/patchwork/kernel/v1/kernel.ts';
import type { CallControl, ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';
import { readBlob } from './job-inputs.ts';
import type { PreparedJob } from './job-cache.ts';
import { peelTopLevel } from './step-start.ts';
import type { TeamStepKey } from './team-exchange.ts';
import type { TeamPeers } from './team-peers.ts';

/** The member that peels. */
const PEELER = 0;

/** The exchange key of a run's shared initial state: the top level's step before iteration 0. */
function initKey(team: TeamSpec, level: number): TeamStepKey {
  return { run: team.run, size: team.size, level, iteration: -1, mode: 'iterate', member: PEELER };
}

/** Whether `state` is a state of level `s` (what a peer announced is checked before it is used). */
function fits(state: LevelState, s: LevelStatic): boolean {
  return state.level === s.level && state.iteration === 0 && state.values.length === s.holePixels.length * 3 && state.nnf.length === s.targetPixels.length && state.dist.length === s.targetPixels.length;
}

/** The top level's initial state for this member of a team run of more than one member. */
export async function teamTopState(deps: ServiceDeps, job: PreparedJob, s: LevelStatic, team: TeamSpec, peers: TeamPeers, usage: CallUsage, control: CallControl): Promise<LevelState> {
  // The node's workers help (they are idle before the run's first step): same bytes (peel.ts).
  const peel = (): LevelState => peelTopLevel(deps, s, job.options, usage);
  const key = initKey(team, s.level);
  if (team.index === PEELER) {
    const state = peel();
    const bytes = usage.time(() => encodeLevelState(state));
    const id = blobIdOf(bytes);
    if (deps.hints.publish(job.key, id, bytes)) deps.cache.hold(id, bytes);
    else await deps.cache.put(bytes, true, id);
    deps.team.announce(job.key, { ...key, node: deps.nodeId, refs: [{ blobId: id, size: bytes.length, tiles: [] }], tileMs: {} });
    return state;
  }
  let announced;
  try {
    announced = await deps.team.wait(job.key, key, deps.teamWaitMs, control.signal);
  } catch (e) {
    if (!isCodedError(e) || e.code !== 'TEAM_PEER_TIMEOUT') throw e;
    peers.markAbsent(PEELER, s.level, 0, e.message);
    return peel();
  }
  try {
    const bytes = await readBlob(deps, announced.refs[0].blobId, usage, deps.pushWaitMs);
    const state = usage.time(() => decodeLevelState(bytes));
    if (fits(state, s)) {
      deps.log.debug({ run: team.run, member: team.index, node: announced.node, level: s.level }, 'team: the top level\'s initial state came from member 0');
      return state;
    }
    deps.log.warn({ run: team.run, member: team.index, node: announced.node }, 'team: the announced initial state does not fit the top level; peeling here');
  } catch (e) {
    if (control.signal.aborted) throw e;
    deps.log.warn({ err: e, run: team.run, member: team.index, node: announced.node }, 'team: could not read the announced initial state; peeling here');
  }
  return peel();
}
