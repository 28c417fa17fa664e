// The deterministic executor: runs one generation of an orchestration against its context, keeps
// the continuation in memory, and turns deliveries (an activity finished, a timer fired, an event
// arrived) into resolved promises. It does no I/O: what must be recorded or started goes to its
// sink, which the instance runtime implements (and a benchmark may implement in memory).
//
// Determinism rests on three rules:
// 1. Every op the code starts gets the next step number (`seq`), so a replay that makes the same
//    calls in the same order sees the same numbers, and a step whose history says otherwise is a
//    NonDeterminismError naming the step.
// 2. Deliveries reach the code in turns. All deliveries of a turn are applied synchronously,
//    then the code runs until it waits again (the caller drains microtasks before the next
//    turn). The turn number is recorded with each delivery, so replay rebuilds the same turns.
// 3. Values the code reads from the world (clock, timer fire times, child ids) are recorded the
//    first time and read back from the history on replay.
import { toErrorInfo, type ErrorInfo } from '../common/errors.ts';
import { assertInstanceId } from '../common/names.ts';
import type { CallOptions, Orchestration, OrchestrationContext, SubOptions, WaitOptions } from './context.ts';
import {
  ActivityFailedError,
  CanceledError,
  NonDeterminismError,
  SubOrchestrationFailedError,
  WaitTimeoutError,
  type CodedError,
} from './errors.ts';
import type { DeliveryEvent, EventRaisedEvent, OpRecordEvent } from './events.ts';
import { SeededRandom } from './random.ts';

export type OpKind = 'activity' | 'timer' | 'wait' | 'sub' | 'now' | 'status';

/** What the history says step `seq` was. */
export interface ExpectedStep {
  kind: OpKind;
  name: string;
}

/** What replay knows from the history before the code runs again. */
export interface ReplayPlan {
  expected: Map<number, ExpectedStep>;
  records: Map<number, OpRecordEvent>;
  /** The highest step number the history mentions. */
  maxSeq: number;
}

/** A delivery with its user value already decoded. */
export interface Delivery {
  event: DeliveryEvent;
  value?: unknown;
}

export type Outcome =
  | { kind: 'completed'; output: unknown }
  | { kind: 'failed'; error: ErrorInfo }
  | { kind: 'canceled'; reason: string }
  | { kind: 'terminated'; reason: string }
  | { kind: 'continuedAsNew'; input: unknown; carried: Delivery[] };

export interface ExecutorSink {
  /** Record an op's decision; `value` is the user value of a StatusSet. */
  recordOp(event: OpRecordEvent, value?: unknown): void;
  /** Record a delivery the code received in `turn` (held: received while suspended). */
  recordDelivery(delivery: Delivery, turn: number, held: boolean): void;
  dispatch(seq: number, name: string, input: unknown, options: CallOptions | undefined): void;
  abortActivity(seq: number): void;
  armTimer(seq: number, fireAt: number): void;
  disarmTimer(seq: number): void;
  startSub(seq: number, orchestration: string, childId: string, input: unknown): void;
  cancelSub(childId: string, reason: string, terminate: boolean): void;
  finished(outcome: Outcome): void;
  fatal(error: CodedError): void;
}

export interface ExecutorOptions {
  instanceId: string;
  generation: number;
  seed: number;
  orchestration: string;
  fn: Orchestration<never, unknown>;
  input: unknown;
  sink: ExecutorSink;
  /** Present when the executor starts by replaying a history. */
  plan?: ReplayPlan;
  /** Events carried over from the previous generation (continueAsNew). */
  carried?: Delivery[];
  clock?: () => number;
}

interface Op {
  seq: number;
  kind: 'activity' | 'timer' | 'wait' | 'sub';
  /** Activity or orchestration name, or the awaited event's name. */
  name: string;
  childId: string | undefined;
  hasTimer: boolean;
  promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Deferred {
  seq: number;
  kind: 'activity' | 'timer' | 'sub';
  name: string;
  input?: unknown;
  options?: CallOptions;
  fireAt?: number;
  childId?: string;
}

const NEVER: Promise<never> = new Promise<never>(() => {});
const noop = (): void => {};

function describe(kind: OpKind, name: string): string {
  switch (kind) {
    case 'activity':
      return `activity '${name}'`;
    case 'timer':
      return 'a timer (ctx.sleep)';
    case 'wait':
      return `a wait for event '${name}'`;
    case 'sub':
      return `sub-orchestration '${name}'`;
    case 'now':
      return 'a clock reading (ctx.now)';
    case 'status':
      return 'a status update (ctx.setStatus)';
  }
}

export class Executor {
  readonly instanceId: string;
  readonly generation: number;
  readonly orchestration: string;
  readonly ctx: OrchestrationContext;
  /** Resumptions run so far: the start plus every turn that delivered something. */
  turnsRun = 0;

  #seq = 0;
  #turn = 0;
  #replaying: boolean;
  #done = false;
  #outcome: Outcome | undefined;
  #fatal: CodedError | undefined;
  #cancelRequested = false;
  #suspended = false;
  readonly #held: Delivery[] = [];
  readonly #pending = new Map<number, Op>();
  readonly #waiters = new Map<string, Op[]>();
  readonly #buffered = new Map<string, Delivery[]>();
  readonly #deferred: Deferred[] = [];
  readonly #rng: SeededRandom;
  readonly #sink: ExecutorSink;
  readonly #plan: ReplayPlan | undefined;
  readonly #fn: Orchestration<never, unknown>;
  readonly #input: unknown;
  readonly #clock: () => number;

  constructor(opts: ExecutorOptions) {
    this.instanceId = opts.instanceId;
    this.generation = opts.generation;
    this.orchestration = opts.orchestration;
    this.#sink = opts.sink;
    this.#plan = opts.plan;
    this.#replaying = !!opts.plan;
    this.#fn = opts.fn;
    this.#input = opts.input;
    this.#rng = new SeededRandom(opts.seed);
    this.#clock = opts.clock ?? Date.now;
    for (const d of opts.carried ?? []) this.#bufferEvent(d);
    this.ctx = this.#makeContext();
  }

  get done(): boolean {
    return this.#done;
  }
  get replaying(): boolean {
    return this.#replaying;
  }
  get suspended(): boolean {
    return this.#suspended;
  }
  get turn(): number {
    return this.#turn;
  }
  get seq(): number {
    return this.#seq;
  }
  get pendingCount(): number {
    return this.#pending.size;
  }
  /** Whether step `seq` still waits for its result. */
  isPending(seq: number): boolean {
    return this.#pending.has(seq);
  }

  get fatalError(): CodedError | undefined {
    return this.#fatal;
  }

  /** Continue turn numbering after the highest recorded turn (replay ends). */
  setTurnBase(turn: number): void {
    if (turn > this.#turn) this.#turn = turn;
  }

  /** Runs the orchestration function from its input (turn 0 of the generation). */
  start(): void {
    this.turnsRun++;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(this.#fn(this.ctx, this.#input as never));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (output) => this.#finish({ kind: 'completed', output }),
      (err: unknown) => {
        if (this.#cancelRequested && err instanceof Error && (err as { code?: unknown }).code === 'CANCELED') {
          this.#finish({ kind: 'canceled', reason: err.message });
        } else {
          this.#finish({ kind: 'failed', error: toErrorInfo(err, 'ORCHESTRATION_FAILED') });
        }
      },
    );
  }

  /**
   * Applies one turn's deliveries. In live mode each applicable delivery is recorded (stamped
   * with the turn) before it is applied; inapplicable ones (a completion for a step that was
   * canceled) are dropped unrecorded. In replay mode nothing is recorded, and a recorded delivery
   * the code has no use for is a divergence.
   */
  runTurn(deliveries: readonly Delivery[]): void {
    if (this.#fatal) return;
    if (this.#done) {
      if (this.#replaying && deliveries.length > 0) {
        const e = deliveries[0].event;
        this.#diverged('seq' in e ? e.seq : this.#seq, `a ${e.type} delivery after the orchestration finished`, 'finishes before it');
      }
      return;
    }
    this.#turn++;
    let applied = false;
    for (let i = 0; i < deliveries.length; i++) {
      if (this.#done || this.#fatal) break;
      if (this.#deliver(deliveries[i])) applied = true;
    }
    if (applied) this.turnsRun++;
  }

  /** Ends replay: starts what the history shows was still outstanding, and checks leftovers. */
  endReplay(): void {
    if (!this.#replaying) return;
    this.#replaying = false;
    if (this.#fatal) return;
    const plan = this.#plan;
    if (plan && plan.maxSeq > this.#seq && !this.#done) {
      const step = plan.expected.get(plan.maxSeq);
      this.#diverged(plan.maxSeq, step ? describe(step.kind, step.name) : `step ${plan.maxSeq}`, 'never reaches that step');
      return;
    }
    const heldSeqs = new Set<number>();
    for (const h of this.#held) if ('seq' in h.event) heldSeqs.add(h.event.seq);
    for (const d of this.#deferred.splice(0)) {
      const op = this.#pending.get(d.seq);
      if (!op || heldSeqs.has(d.seq)) continue;
      if (d.kind === 'activity') this.#sink.dispatch(d.seq, d.name, d.input, d.options);
      else if (d.kind === 'timer') this.#sink.armTimer(d.seq, d.fireAt!);
      else this.#sink.startSub(d.seq, d.name, d.childId!, d.input);
    }
    if (this.#outcome) this.#sink.finished(this.#outcome);
  }

  /**
   * Graceful handover: records deliveries the code has not seen yet without applying them, so
   * the next owner replays them as one turn instead of running their steps again. Stops at the
   * first control delivery (cancel, suspend...): those stay in the inbox for the next owner, and
   * recording what follows them unapplied could make a replay see a result for a step the
   * control had already canceled.
   */
  recordWithoutApplying(deliveries: readonly Delivery[]): number {
    if (this.#done || this.#fatal || this.#replaying) return 0;
    this.#turn++;
    let n = 0;
    // Which steps the batch settles when replayed in order: a step settles once (a wait met by
    // an event is no longer there for its timeout's TimerFired, and the reverse).
    const settled = new Set<number>();
    for (const d of deliveries) {
      const e = d.event;
      if (e.type === 'Resumed' || e.type === 'Suspended' || e.type === 'Terminated' || e.type === 'CancelRequested') break;
      if (!this.#isApplicable(e)) continue;
      if ('seq' in e) {
        if (settled.has(e.seq)) continue;
        settled.add(e.seq);
      } else if (e.type === 'EventRaised') {
        const waiter = this.#waiters.get(e.name)?.find((w) => !settled.has(w.seq));
        if (waiter) settled.add(waiter.seq);
      }
      this.#sink.recordDelivery(d, this.#turn, this.#suspended);
      n++;
    }
    return n;
  }

  /** Events delivered but not yet consumed by the code (carried over by continueAsNew). */
  bufferedEvents(): Delivery[] {
    const out: Delivery[] = [];
    for (const list of this.#buffered.values()) out.push(...list);
    for (const h of this.#held) if (h.event.type === 'EventRaised') out.push(h);
    return out;
  }

  // --- deliveries ------------------------------------------------------------------------------

  #deliver(d: Delivery): boolean {
    const e = d.event;
    const applicable = this.#isApplicable(e);
    if (!applicable) {
      if (this.#replaying && !e.held) {
        this.#diverged('seq' in e ? e.seq : this.#seq, `a ${e.type} delivery`, 'has no step waiting for it');
      }
      return false;
    }
    const hold = this.#suspended && e.type !== 'Resumed' && e.type !== 'Suspended' && e.type !== 'Terminated' && e.type !== 'CancelRequested';
    if (!this.#replaying) this.#sink.recordDelivery(d, this.#turn, hold);
    if (hold) {
      this.#held.push(d);
      return false;
    }
    this.#apply(d);
    return true;
  }

  #isApplicable(e: DeliveryEvent): boolean {
    switch (e.type) {
      case 'ActivityCompleted':
      case 'ActivityFailed':
        return this.#pending.get(e.seq)?.kind === 'activity';
      case 'TimerFired': {
        const op = this.#pending.get(e.seq);
        return !!op && (op.kind === 'timer' || (op.kind === 'wait' && !!op.hasTimer));
      }
      case 'SubCompleted':
        return this.#pending.get(e.seq)?.kind === 'sub';
      case 'Suspended':
        return !this.#suspended;
      case 'Resumed':
        return this.#suspended;
      default:
        return true;
    }
  }

  #apply(d: Delivery): void {
    const e = d.event;
    switch (e.type) {
      case 'ActivityCompleted': {
        const op = this.#take(e.seq);
        op.resolve(d.value);
        return;
      }
      case 'ActivityFailed': {
        const op = this.#take(e.seq);
        this.#rejectOp(op, new ActivityFailedError(e.name, e.error));
        return;
      }
      case 'TimerFired': {
        const op = this.#take(e.seq);
        if (op.kind === 'timer') {
          op.resolve(undefined);
        } else {
          const list = this.#waiters.get(op.name);
          if (list) list.splice(list.indexOf(op), 1);
          this.#rejectOp(op, new WaitTimeoutError(op.name, 0));
        }
        return;
      }
      case 'SubCompleted': {
        const op = this.#take(e.seq);
        if (e.error) this.#rejectOp(op, new SubOrchestrationFailedError(e.childId, e.error));
        else op.resolve(d.value);
        return;
      }
      case 'EventRaised': {
        const waiter = this.#waiters.get(e.name)?.shift();
        if (waiter) {
          if (waiter.hasTimer) {
            this.#pending.delete(waiter.seq);
            if (!this.#replaying) this.#sink.disarmTimer(waiter.seq);
          }
          waiter.resolve(d.value);
        } else {
          this.#bufferEvent(d);
        }
        return;
      }
      case 'CancelRequested': {
        this.#cancelRequested = true;
        const err = new CanceledError(e.reason);
        const ops = new Set(this.#pending.values());
        for (const list of this.#waiters.values()) for (const w of list) ops.add(w);
        this.#pending.clear();
        this.#waiters.clear();
        for (const op of ops) {
          if (!this.#replaying) this.#stopOp(op, e.reason, false);
          this.#rejectOp(op, err);
        }
        return;
      }
      case 'Suspended':
        this.#suspended = true;
        return;
      case 'Resumed': {
        this.#suspended = false;
        for (const h of this.#held.splice(0)) {
          if (this.#done || this.#fatal) break;
          if (this.#isApplicable(h.event)) this.#apply(h);
        }
        return;
      }
      case 'Terminated': {
        for (const op of this.#pending.values()) if (!this.#replaying) this.#stopOp(op, e.reason, true);
        this.#pending.clear();
        this.#waiters.clear();
        this.#finish({ kind: 'terminated', reason: e.reason });
        return;
      }
    }
  }

  #bufferEvent(d: Delivery): void {
    const name = (d.event as EventRaisedEvent).name;
    let list = this.#buffered.get(name);
    if (!list) this.#buffered.set(name, (list = []));
    list.push(d);
  }

  #take(seq: number): Op {
    const op = this.#pending.get(seq)!;
    this.#pending.delete(seq);
    return op;
  }

  #stopOp(op: Op, reason: string, terminate: boolean): void {
    if (op.kind === 'activity') this.#sink.abortActivity(op.seq);
    else if (op.kind === 'timer' || op.hasTimer) this.#sink.disarmTimer(op.seq);
    if (op.kind === 'sub') this.#sink.cancelSub(op.childId!, reason, terminate);
  }

  #rejectOp(op: Op, err: unknown): void {
    // Mark the promise handled: code that never awaits a canceled step must not crash the host
    // with an unhandled rejection. Code that awaits it still sees the error.
    op.promise.catch(noop);
    op.reject(err);
  }

  #finish(outcome: Outcome): void {
    if (this.#done) return;
    this.#done = true;
    if (outcome.kind === 'terminated' || outcome.kind === 'continuedAsNew') {
      for (const op of this.#pending.values()) if (!this.#replaying) this.#stopOp(op, 'instance ended', false);
    }
    this.#outcome = outcome;
    if (!this.#replaying) this.#sink.finished(outcome);
  }

  #diverged(seq: number, expected: string, got: string): void {
    if (this.#fatal) return;
    this.#fatal = new NonDeterminismError(this.instanceId, seq, expected, got);
    this.#done = true;
    this.#sink.fatal(this.#fatal);
  }

  /** Checks a new step against the history; false (and the instance fails) on a mismatch. */
  #check(seq: number, kind: OpKind, name: string): boolean {
    const step = this.#plan?.expected.get(seq);
    if (!step || (step.kind === kind && step.name === name)) return true;
    this.#diverged(seq, describe(step.kind, step.name), `schedules ${describe(kind, name)}`);
    return false;
  }

  /** A new step; `tracked` ones are kept by seq (a wait without a timeout lives in #waiters only). */
  #newOp(seq: number, kind: Op['kind'], name: string, tracked = true): Op {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const op: Op = { seq, kind, name, promise, resolve, reject, hasTimer: false, childId: undefined };
    if (tracked) this.#pending.set(seq, op);
    return op;
  }

  #record(seq: number): OpRecordEvent | undefined {
    return this.#plan?.records.get(seq);
  }

  // --- the context -----------------------------------------------------------------------------

  #makeContext(): OrchestrationContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const ex = this;
    return {
      get instanceId() {
        return ex.instanceId;
      },
      get generation() {
        return ex.generation;
      },
      get isReplaying() {
        return ex.#replaying;
      },
      get isCancelRequested() {
        return ex.#cancelRequested;
      },
      call<T>(activity: string, input?: unknown, options?: CallOptions): Promise<T> {
        if (typeof activity !== 'string' || activity.length === 0) throw new TypeError('ctx.call needs an activity name');
        const seq = ++ex.#seq;
        if (ex.#done || !ex.#check(seq, 'activity', activity)) return NEVER;
        const op = ex.#newOp(seq, 'activity', activity);
        if (ex.#replaying) ex.#deferred.push({ seq, kind: 'activity', name: activity, input, options });
        else ex.#sink.dispatch(seq, activity, input, options);
        return op.promise as Promise<T>;
      },
      sleep(ms: number): Promise<void> {
        if (!(ms >= 0)) throw new RangeError(`ctx.sleep needs a duration >= 0 ms, got ${ms}`);
        const seq = ++ex.#seq;
        if (ex.#done || !ex.#check(seq, 'timer', '')) return NEVER;
        const rec = ex.#record(seq);
        let fireAt: number;
        if (rec?.type === 'TimerCreated') fireAt = rec.fireAt;
        else {
          fireAt = ex.#clock() + ms;
          ex.#sink.recordOp({ type: 'TimerCreated', seq, fireAt, purpose: 'sleep' });
        }
        const op = ex.#newOp(seq, 'timer', '');
        if (ex.#replaying) ex.#deferred.push({ seq, kind: 'timer', name: '', fireAt });
        else ex.#sink.armTimer(seq, fireAt);
        return op.promise as Promise<void>;
      },
      waitForEvent<T>(name: string, options?: WaitOptions): Promise<T> {
        if (typeof name !== 'string' || name.length === 0) throw new TypeError('ctx.waitForEvent needs an event name');
        const seq = ++ex.#seq;
        const timeoutMs = options?.timeoutMs;
        if (ex.#done || !ex.#check(seq, 'wait', name)) return NEVER;
        const early = ex.#buffered.get(name);
        if (early && early.length > 0) {
          // Taken from the buffer: nothing is recorded, so the history expects nothing here.
          return Promise.resolve(early.shift()!.value as T);
        }
        const op = ex.#newOp(seq, 'wait', name, timeoutMs !== undefined);
        let list = ex.#waiters.get(name);
        if (!list) ex.#waiters.set(name, (list = []));
        list.push(op);
        if (timeoutMs !== undefined) {
          if (!(timeoutMs >= 0)) throw new RangeError(`waitForEvent timeoutMs must be >= 0, got ${timeoutMs}`);
          op.hasTimer = true;
          const rec = ex.#record(seq);
          let fireAt: number;
          if (rec?.type === 'TimerCreated') fireAt = rec.fireAt;
          else {
            fireAt = ex.#clock() + timeoutMs;
            ex.#sink.recordOp({ type: 'TimerCreated', seq, fireAt, purpose: 'wait', name });
          }
          // The rejection names the timeout the code asked for.
          const reject = op.reject;
          op.reject = (err) => reject(err instanceof WaitTimeoutError ? new WaitTimeoutError(name, timeoutMs) : err);
          if (ex.#replaying) ex.#deferred.push({ seq, kind: 'timer', name, fireAt });
          else ex.#sink.armTimer(seq, fireAt);
        }
        return op.promise as Promise<T>;
      },
      callSub<T>(orchestration: string, input?: unknown, options?: SubOptions): Promise<T> {
        if (typeof orchestration !== 'string' || orchestration.length === 0) throw new TypeError('ctx.callSub needs an orchestration name');
        if (options?.id !== undefined) assertInstanceId(options.id);
        const seq = ++ex.#seq;
        if (ex.#done || !ex.#check(seq, 'sub', orchestration)) return NEVER;
        const rec = ex.#record(seq);
        const childId = rec?.type === 'SubStarted' ? rec.childId : (options?.id ?? `${ex.instanceId}=${ex.generation}-${seq}`);
        if (rec?.type !== 'SubStarted') ex.#sink.recordOp({ type: 'SubStarted', seq, orchestration, childId });
        const op = ex.#newOp(seq, 'sub', orchestration);
        op.childId = childId;
        if (ex.#replaying) ex.#deferred.push({ seq, kind: 'sub', name: orchestration, input, childId });
        else ex.#sink.startSub(seq, orchestration, childId, input);
        return op.promise as Promise<T>;
      },
      continueAsNew(input: unknown): Promise<never> {
        if (!ex.#done) {
          const carried = ex.bufferedEvents();
          ex.#finish({ kind: 'continuedAsNew', input, carried });
        }
        return NEVER;
      },
      now(): number {
        const seq = ++ex.#seq;
        if (ex.#done || !ex.#check(seq, 'now', '')) return ex.#clock();
        const rec = ex.#record(seq);
        if (rec?.type === 'Now') return rec.t;
        const t = ex.#clock();
        ex.#sink.recordOp({ type: 'Now', seq, t });
        return t;
      },
      random(): number {
        return ex.#rng.next();
      },
      uuid(): string {
        return ex.#rng.uuid();
      },
      setStatus(fields: Record<string, unknown>): void {
        if (!fields || typeof fields !== 'object') throw new TypeError('ctx.setStatus needs an object of fields');
        const seq = ++ex.#seq;
        if (ex.#done || !ex.#check(seq, 'status', '')) return;
        if (ex.#record(seq)) return;
        ex.#sink.recordOp({ type: 'StatusSet', seq }, fields);
      },
    };
  }
}
