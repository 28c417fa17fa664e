// An in-memory executor sink: records what the executor decides, runs activities through a
// function map on the microtask queue, and feeds results back turn by turn. No I/O, so unit tests
// and the in-memory benchmark exercise the executor's own logic and cost.
import { Executor, type Delivery, type ExecutorSink, type Outcome, type ReplayPlan } from '../../src/actors/executor.ts';
import type { HistoryEvent, OpRecordEvent } from '../../src/actors/events.ts';
import type { Orchestration } from '../../src/actors/context.ts';
import type { CodedError } from '../../src/actors/errors.ts';
import { encodeValue } from '../../src/actors/codec.ts';

export interface MemoryRun {
  executor: Executor;
  sink: MemorySink;
}

export class MemorySink implements ExecutorSink {
  readonly history: HistoryEvent[] = [];
  readonly dispatched: Array<{ seq: number; name: string; input: unknown }> = [];
  readonly timers = new Map<number, number>();
  outcome: Outcome | undefined;
  fatalError: CodedError | undefined;
  /** Record nothing (for the in-memory benchmark's no-I/O path). */
  discard = false;
  onFinished: ((o: Outcome) => void) | undefined;

  recordOp(event: OpRecordEvent, value?: unknown): void {
    if (this.discard) return;
    this.history.push(value === undefined ? event : ({ ...event, v: encodeValue(value) } as HistoryEvent));
  }
  recordDelivery(d: Delivery, turn: number, held: boolean): void {
    if (this.discard) return;
    const e = { ...d.event, turn, ...(held ? { held } : {}) };
    this.history.push(d.value === undefined ? e : ({ ...e, v: encodeValue(d.value) } as HistoryEvent));
  }
  dispatch(seq: number, name: string, input: unknown): void {
    this.dispatched.push({ seq, name, input });
  }
  abortActivity(): void {}
  armTimer(seq: number, fireAt: number): void {
    this.timers.set(seq, fireAt);
  }
  disarmTimer(seq: number): void {
    this.timers.delete(seq);
  }
  startSub(): void {}
  cancelSub(): void {}
  finished(outcome: Outcome): void {
    this.outcome = outcome;
    this.onFinished?.(outcome);
  }
  fatal(error: CodedError): void {
    this.fatalError = error;
  }
}

export function newExecutor(fn: Orchestration<never, unknown>, input: unknown, opts: { plan?: ReplayPlan; sink?: MemorySink; id?: string; seed?: number } = {}): MemoryRun {
  const sink = opts.sink ?? new MemorySink();
  const executor = new Executor({
    instanceId: opts.id ?? 'mem',
    generation: 0,
    seed: opts.seed ?? 42,
    orchestration: 'test',
    fn,
    input,
    sink,
    plan: opts.plan,
    clock: () => 1_000,
  });
  return { executor, sink };
}

export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Completes every dispatched activity with `results(name, input)`, one turn, then drains. */
export async function completeDispatched(run: MemoryRun, results: (name: string, input: unknown) => unknown): Promise<number> {
  const pending = run.sink.dispatched.splice(0);
  if (pending.length === 0) return 0;
  run.executor.runTurn(pending.map((p) => ({ event: { type: 'ActivityCompleted', seq: p.seq, name: p.name }, value: results(p.name, p.input) })));
  await settle();
  return pending.length;
}
