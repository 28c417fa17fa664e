// Orchestrations shipped with Patchwork. Modules in this folder are pure: they import only the
// context's types and pure helpers (test/unit/orchestration-purity.test.ts walks their import
// graph and fails on node: builtins, NATS, gRPC, sharp or any other I/O module). The inpaint job
// lands here (issue 5).
import type { OrchestrationRegistry } from '../context.ts';

export const orchestrations: OrchestrationRegistry = {};
