// The actor runtime's public entry. Other rooms (the gateway, the CLI, the inpaint job) import
// from here only; the modules behind it may change shape.

// Hosting and the client API
export { ActorHost, type HostOptions, type HostEvents } from './host.ts';
export {
  ActorClient,
  type ClientOptions,
  type StartOptions,
  type StartResult,
  type InstanceStatus,
  type ListOptions,
  type ListPage,
  type HistoryPage,
  type RecordedEvent,
  type WatchOptions,
} from './client.ts';
export type { InstanceStatusName, InstanceStats } from './instance-index.ts';
export { sweepRetention } from './retention.ts';
export { openActorStorage, type ActorStorage, type StorageOptions } from './storage.ts';

// Writing orchestrations (pure: safe to import from src/actors/orchestrations)
export type { Orchestration, OrchestrationContext, OrchestrationRegistry, CallOptions, WaitOptions, SubOptions, RetryPolicy } from './context.ts';
export {
  CodedError,
  TerminalError,
  RetryableError,
  ActivityFailedError,
  SubOrchestrationFailedError,
  CanceledError,
  WaitTimeoutError,
  ActivityTimeoutError,
  NonDeterminismError,
  FencedError,
  type ErrorInfo,
} from './errors.ts';
export { DEFAULT_RETRY_POLICY } from './retry.ts';

// Running activities
export { InProcessDispatcher, type Dispatcher, type ActivityRequest, type ActivityFn, type ActivityRegistry } from './dispatcher.ts';

// History format (for tools that read histories)
export type { HistoryEvent, HistoryEventType } from './events.ts';
export { FORMAT_VERSION } from './codec.ts';

// The inpaint job: the runtime factory a process embeds, and the job service (contract: jobs/types.ts)
export { createJobRuntime, type JobRuntime, type JobRuntimeOptions, type KernelNodeView } from './jobs/job-runtime.ts';
export { ActorJobService, type JobServiceOptions } from './jobs/job-service.ts';
export { JobDispatcher, type JobDispatcherOptions } from './jobs/job-dispatcher.ts';
export { DEFAULT_FILL_SETTINGS, INPAINT_ORCHESTRATION, type FillSettings, type InpaintJobInput, type InpaintJobOutput } from './jobs/job-state.ts';
export type * from './jobs/types.ts';
export { TERMINAL_JOB_STATUSES } from './jobs/types.ts';
