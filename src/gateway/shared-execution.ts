// graphql-ws's `subscribe`, with two changes for job feeds (a source that is a JobUpdateStream):
// - each state's response is computed once per (operation, variables) and shared by every
//   subscriber of the feed (graphql-js would execute the selection set once per subscriber per
//   state), together with its JSON text;
// - given a FrameSink (the subscriber's socket and subscription id), an error-free response is
//   written as a graphql-ws `next` frame built by string concatenation around that shared JSON,
//   instead of being handed back to graphql-ws, which would stringify the whole message again
//   per subscriber. The stream then yields nothing until the feed ends, and graphql-ws sends the
//   `complete` frame as usual. A response with errors is handed back to graphql-ws (its onNext
//   formats errors), in order, since every write is awaited before the next state is taken.
// Otherwise this is exactly graphql-js's subscribe: createSourceEventStream, then execute per event.
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { JobView } from '../actors/jobs/types.ts';
import { JobUpdateStream } from './watch-hub.ts';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Where a subscriber's `next` frames go when they are written directly (one per subscription). */
export interface FrameSink {
  /** `{"id":<id>,"type":"next","payload":` — the frame up to the payload. */
  readonly prefix: string;
  /** Writes a whole frame; resolves once the socket took it (so a slow client coalesces). */
  write(frame: string): Promise<void>;
}

/**
 * A FrameSink over a ws socket: sends like graphql-ws's own adapter does (nothing once the socket
 * is no longer open; resolves when the write completed). `onFrame` counts frames (metrics).
 */
export function socketFrameSink(
  socket: { readonly readyState: number; readonly OPEN: number; send(data: string, cb: (err?: Error) => void): void },
  id: string,
  onFrame?: () => void,
): FrameSink {
  return {
    prefix: `{"id":${JSON.stringify(id)},"type":"next","payload":`,
    write: (frame) =>
      new Promise<void>((resolve, reject) => {
        if (socket.readyState !== socket.OPEN) return resolve();
        onFrame?.();
        socket.send(frame, (err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A state's response, with its JSON text when it has no errors (then it can be framed directly). */
interface SharedResult {
  result: ExecutionResult;
  json: string | null;
}

function share(result: ExecutionResult): SharedResult {
  return { result, json: result.errors ? null : JSON.stringify(result) };
}

const DONE: IteratorResult<ExecutionResult> = { value: undefined, done: true };

/**
 * An iterator whose `next` is `pull`; `return`, `throw` and an error in `pull` close `source`
 * (`onClose` first), as graphql-js's own mapped stream does.
 */
function streamOver(source: AsyncIterator<unknown>, pull: () => Promise<IteratorResult<ExecutionResult>>, onClose?: () => void): AsyncIterableIterator<ExecutionResult> {
  const close = async () => {
    onClose?.();
    try {
      await source.return?.();
    } catch {
      // keep the original error
    }
  };
  const it: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      try {
        return await pull();
      } catch (err) {
        await close();
        throw err;
      }
    },
    async return() {
      await close();
      return DONE;
    },
    async throw(err) {
      await close();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

function mapStream<T>(source: AsyncIterator<T>, fn: (value: T) => Result): AsyncIterableIterator<ExecutionResult> {
  return streamOver(source, async () => {
    const r = await source.next();
    return r.done ? DONE : { value: await fn(r.value), done: false };
  });
}

/**
 * A job feed whose error-free states are written straight to `sink`; yields only responses with
 * errors (for graphql-ws to format and send), ends when the feed ends.
 */
function framedStream(source: JobUpdateStream, fn: (view: JobView) => SharedResult | Promise<SharedResult>, sink: FrameSink): AsyncIterableIterator<ExecutionResult> {
  let closed = false;
  return streamOver(
    source,
    async () => {
      for (;;) {
        const r = await source.next();
        // Unsubscribed (graphql-ws called return()) while this subscriber waited: write nothing more.
        if (r.done || closed) return DONE;
        const shared = await fn(r.value);
        if (shared.json === null) return { value: shared.result, done: false };
        await sink.write(sink.prefix + shared.json + '}');
      }
    },
    () => {
      closed = true;
    },
  );
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

/** graphql-ws's `subscribe` hook. `sink`: write error-free job states directly (see above). */
export async function subscribeShared(args: ExecutionArgs, sink?: FrameSink): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
  const run = (payload: unknown): Result => execute({ ...args, rootValue: payload });
  if (source instanceof JobUpdateStream) {
    // The feed is per (tenant, job) and the context carries only the tenant, so within a feed
    // the response depends on nothing but the operation, its variables and the state.
    const key = intern(`${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${print(args.document)}`);
    const shared = (view: JobView): SharedResult | Promise<SharedResult> =>
      source.memo.get(key, view.version, () => {
        const r = run(view);
        return r instanceof Promise ? r.then(share) : share(r);
      });
    if (sink) return framedStream(source, shared, sink);
    return mapStream<JobView>(source, async (view) => (await shared(view)).result);
  }
  const it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  return mapStream(it, run);
}
