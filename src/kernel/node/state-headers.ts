// A level state's header: the state without its arrays (iteration, warm-up and the other
// counters), in the kernel's own level-state encoding. Steps report the header of the state they
// started from; the next step gets it back with the step's results and assembles the state after
// the step exactly: `assemble` reads of the previous state only its counters, never its arrays.
import { decodeLevelState, encodeLevelState } from '../codec.ts';
import { KernelError } from '../errors.ts';
import type { LevelState } from '../types.ts';

export function encodeHeader(state: LevelState): Uint8Array {
  return encodeLevelState({ ...state, values: new Float32Array(0), nnf: new Int32Array(0), dist: new Float32Array(0) });
}

export function decodeHeader(bytes: Uint8Array, level: number, iteration: number): LevelState {
  const header = decodeLevelState(bytes);
  if (header.values.length || header.nnf.length || header.dist.length) throw new KernelError('BAD_DATA', 'a state header carries no arrays');
  if (header.level !== level || header.iteration !== iteration) {
    throw new KernelError('BAD_DATA', `the state header is of level ${header.level} iteration ${header.iteration}, the results of level ${level} iteration ${iteration}`);
  }
  return header;
}
