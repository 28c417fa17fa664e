// The state a Step starts from: assembled from the previous step's results and start-state
// header (cached: concurrent calls of one step, and the call after a converged level, share one
// assembly), or a level's initial state; and whether that state has already converged.
import { assemble, converged } from '../assemble.ts';
import { decodeLevelState } from '../codec.ts';
import { initFromCoarser, initTopLevel } from '../init-level.ts';
import { helperPeel, type PeelJob } from '../peel.ts';
import type { TileMode } from '../pool-protocol.ts';
import type { LevelState, LevelStatic, PlanOptions } from '../types.ts';
import type { ResultRef, StepRequest } from '../generated/patchwork/kernel/v1/kernel.ts';
import { badRequest, badStep, type ServiceDeps } from './call-context.ts';
import type { CallUsage } from './call-usage.ts';
import { levelOf, readResults } from './job-inputs.ts';
import type { PreparedJob } from './job-cache.ts';
import { decodeHeader } from './state-headers.ts';
import { stateKey } from './state-cache.ts';
import { shareState } from './tile-runner.ts';

/**
 * The top level's initial state, peeled with the node's worker threads helping (peel.ts: same
 * bytes; a busy worker joins late or not at all). The helpers' time counts into the call's cost.
 */
export function peelTopLevel(deps: ServiceDeps, s: LevelStatic, options: PlanOptions, usage: CallUsage): LevelState {
  let shared: PeelJob | null = null;
  const state = usage.time(() =>
    initTopLevel(s, options, (p) => {
      shared = p;
      deps.pool.sharePeel(p);
    }),
  );
  if (shared) usage.kernelMs += helperPeel(shared).ms;
  return state;
}

/** The state after the step whose results are `refs` and whose start-state header is `headerBytes`. */
export async function stateAfter(deps: ServiceDeps, job: PreparedJob, refs: readonly ResultRef[], headerBytes: Uint8Array, usage: CallUsage): Promise<LevelState> {
  if (headerBytes.length === 0) throw badRequest('previous results need their step\'s start_state (previous_state)');
  const { level } = decodeLevelState(headerBytes);
  const s = levelOf(job, level);
  return deps.states.getOrBuild(stateKey(job.key, headerBytes, refs.map((r) => r.blobId)), async () => {
    const results = await readResults(deps, refs, usage);
    const header = decodeHeader(headerBytes, results[0].level, results[0].iteration);
    // Kept on shared memory: every call of the step hands it to workers without a copy.
    return usage.time(() => shareState(assemble(s, header, results, job.options)));
  });
}

/**
 * The state a step starts from; `converged` when the request is an ITERATE step of a level whose
 * state (`state`, after the previous step) has already converged. `initTop` gives the top level's
 * initial state (default: computed here; a team run shares one, team-start.ts).
 */
export async function startState(deps: ServiceDeps, job: PreparedJob, req: StepRequest, mode: TileMode, usage: CallUsage, initTop?: (s: LevelStatic) => Promise<LevelState>): Promise<{ state: LevelState; converged: boolean }> {
  const { levels, options } = job;
  const s = levelOf(job, req.level);
  const top = levels.length - 1;
  if (req.previous.length === 0) {
    if (req.level !== top || req.iteration !== 0 || mode !== 'iterate') {
      throw badStep(`only the top level's first ITERATE step (level ${top}, iteration 0) starts without previous results`);
    }
    return { state: initTop ? await initTop(s) : peelTopLevel(deps, s, options, usage), converged: false };
  }
  const prev = await stateAfter(deps, job, req.previous, req.previousState, usage);
  if (req.iteration > 0) {
    if (prev.level !== req.level || prev.iteration !== req.iteration) {
      throw badStep(`step (level ${req.level}, iteration ${req.iteration}) starts from the results of (level ${req.level}, iteration ${req.iteration - 1}); these give level ${prev.level} after ${prev.iteration} iterations`);
    }
    const done = converged(s, prev, options);
    if (mode === 'iterate') return { state: prev, converged: done };
    if (req.level !== 0) throw badStep('only level 0 has a VOTE step');
    if (!done) throw badStep(`level 0 has not converged after ${prev.iteration} iterations: ITERATE before the VOTE step`);
    return { state: prev, converged: false };
  }
  if (prev.level !== req.level + 1) throw badStep(`level ${req.level}'s first step starts from the last results of level ${req.level + 1}, got level ${prev.level}`);
  const coarse = levels[prev.level];
  if (!converged(coarse, prev, options)) throw badStep(`level ${prev.level} has not converged after ${prev.iteration} iterations: it needs more steps before level ${req.level}`);
  if (mode !== 'iterate') throw badStep(`level ${req.level}'s first step is an ITERATE step`);
  return { state: usage.time(() => initFromCoarser(s, coarse, prev, options)), converged: false };
}

