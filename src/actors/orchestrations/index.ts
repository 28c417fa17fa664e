// Orchestrations shipped with Patchwork. Modules in this folder are pure: they import only the
// context's types and pure helpers (test/unit/orchestration-purity.test.ts walks their import
// graph and fails on node: builtins, NATS, gRPC, sharp or any other I/O module).
import type { Orchestration, OrchestrationRegistry } from '../context.ts';
import { INPAINT_ORCHESTRATION } from '../jobs/job-state.ts';
import { inpaintOrchestration } from './inpaint.ts';

export const orchestrations: OrchestrationRegistry = {
  [INPAINT_ORCHESTRATION]: inpaintOrchestration as Orchestration<never, unknown>,
};
