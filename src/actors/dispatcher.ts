// Dispatchers run activities. The instance runtime hands each attempt to one with everything a
// remote dispatcher needs: which instance and step it belongs to (idempotency on the node), the
// attempt number, an absolute deadline, and a placement key (work with one key goes to the same
// node while that node lives, so its blob cache stays warm). In-process here; the gRPC
// dispatcher to kernel nodes implements the same interface.
import { unknownActivity } from './errors.ts';

export interface ActivityRequest {
  readonly instanceId: string;
  readonly generation: number;
  /** The step number of the call within its generation. */
  readonly seq: number;
  /** `<instanceId>/<generation>/<seq>`: the same for every attempt of one call. */
  readonly activityId: string;
  readonly name: string;
  readonly input: unknown;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** ms since the epoch after which the attempt is abandoned; Infinity for none. */
  readonly deadline: number;
  readonly placementKey: string;
  /** Aborted when the attempt times out or the instance cancels or moves away. */
  readonly signal: AbortSignal;
}

export interface Dispatcher {
  /** Runs one attempt; resolves with the result or rejects (CodedError: code, retryable). */
  dispatch(request: ActivityRequest): Promise<unknown>;
  close?(): Promise<void>;
}

export type ActivityFn = (input: never, request: ActivityRequest) => unknown;

export type ActivityRegistry = Readonly<Record<string, ActivityFn>>;

/** Runs activities as functions in this process. */
export class InProcessDispatcher implements Dispatcher {
  readonly #activities: ActivityRegistry;

  constructor(activities: ActivityRegistry) {
    this.#activities = activities;
  }

  dispatch(request: ActivityRequest): Promise<unknown> {
    const fn = this.#activities[request.name];
    if (!fn) return Promise.reject(unknownActivity(request.name, Object.keys(this.#activities)));
    try {
      return Promise.resolve(fn(request.input as never, request));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
