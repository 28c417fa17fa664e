// graphql-ws's `subscribe`, with one change: when the source stream is a job's shared feed, each
// state's response is computed once per (operation, variables) and shared by every subscriber
// (graphql-js would execute the selection set once per subscriber per state). Otherwise this is
// exactly graphql-js's subscribe: createSourceEventStream, then execute per event.
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { JobView } from '../actors/jobs/types.ts';
import { JobUpdateStream } from './watch-hub.ts';

type Result = ExecutionResult | Promise<ExecutionResult>;

function mapStream<T>(source: AsyncIterator<T>, fn: (value: T) => Result): AsyncIterableIterator<ExecutionResult> {
  const close = async () => {
    try {
      await source.return?.();
    } catch {
      // keep the original error
    }
  };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      if (r.done) return { value: undefined, done: true };
      try {
        return { value: await fn(r.value), done: false };
      } catch (err) {
        await close();
        throw err;
      }
    },
    async return() {
      await close();
      return { value: undefined, done: true };
    },
    async throw(err) {
      await close();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}

/**
 * Keys interned: every subscriber of the same operation uses the very same key string, so the
 * memo's map lookup compares by identity instead of character by character.
 */
const interned = new Map<string, string>();
function intern(key: string): string {
  const known = interned.get(key);
  if (known !== undefined) return known;
  if (interned.size >= 10_000) interned.clear();
  interned.set(key, key);
  return key;
}

export async function subscribeShared(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
  const run = (payload: unknown): Result => execute({ ...args, rootValue: payload });
  if (source instanceof JobUpdateStream) {
    const key = intern(`${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${print(args.document)}`);
    return mapStream<JobView>(source, (view) => source.memo.get(key, view.version, () => run(view)));
  }
  const it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  return mapStream(it, run);
}
