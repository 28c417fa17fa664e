// The node bucket: every kernel node keeps one record there (JetStream KV, key = node id),
// rewritten on every heartbeat; clients watch the bucket to know the live nodes and their load.
// Also the one place that names the NATS subjects kernel nodes use among themselves.
import { createRequire } from 'node:module';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { PatchworkNames } from '../../common/names.ts';

const require = createRequire(import.meta.url);
/** The version nodes register (package version); clients may prefer nodes of their own. */
export const NODE_VERSION: string = (require('../../../package.json') as { version: string }).version;

/**
 * Records older than this are dropped by the server (bucket max age), so a node killed without
 * deregistering leaves no trace; clients stop trusting a record much earlier (see node-set.ts).
 */
export const NODE_RECORD_MAX_AGE_MS = 60_000;

export const nodeRecordSchema = z.object({
  id: z.string().min(1),
  /** host:port clients dial. */
  address: z.string().min(1),
  /** Calls the node admits at once (running or queued). */
  capacity: z.number().int().min(1),
  workers: z.number().int().min(1),
  /** Calls admitted and not yet answered, at the time of the record. */
  inFlight: z.number().int().min(0),
  version: z.string(),
  tls: z.boolean(),
  /** The node's heartbeat interval: clients consider it gone after a few missed beats. */
  heartbeatMs: z.number().int().min(1),
  startedAt: z.string(),
});

export type NodeRecord = z.infer<typeof nodeRecordSchema>;

export function encodeNodeRecord(r: NodeRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(r));
}

/** The record in a KV value, or null when it is not one (another writer, an older format). */
export function decodeNodeRecord(bytes: Uint8Array): NodeRecord | null {
  try {
    const parsed = nodeRecordSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Opens the node bucket, creating it on first use (nodes and clients may start in any order) with
 * `replicas` (an existing bucket keeps its own).
 */
export function openNodeBucket(nc: NatsConnection, names: PatchworkNames, replicas = 1): Promise<KV> {
  return new Kvm(nc).create(names.nodeBucket, { history: 1, ttl: NODE_RECORD_MAX_AGE_MS, replicas });
}

/**
 * Subject on which the nodes running a job push each other the tile results they store (see
 * docs/architecture.md, "Result hints"). Four tokens, so it never matches the job streams'
 * `<ns>.*.events` / `<ns>.*.inbox` filters.
 */
export function resultHintSubject(names: PatchworkNames, jobKey: string): string {
  return `${names.namespace}._kernel.${jobKey}.results`;
}

/**
 * Subject on which the members of a job's team runs announce each step's results to each other
 * and ask for announcements they missed (see docs/architecture.md, "Team runs"). Like the result
 * pushes, four tokens.
 */
export function teamSubject(names: PatchworkNames, jobKey: string): string {
  return `${names.namespace}._kernel.${jobKey}.team`;
}
