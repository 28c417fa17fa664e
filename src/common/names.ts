// Names of the JetStream stream, subjects and buckets Patchwork uses, derived from one namespace
// so that tests (and several deployments on one NATS) never collide. Every room builds names
// here; nothing else concatenates subject strings.
import { CodedError } from './errors.ts';

/** Instance ids given by callers: safe as a subject token and as a KV key. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Ids the runtime derives (sub-orchestrations add `=` segments to the parent's id). */
export const DERIVED_ID_PATTERN = /^[A-Za-z0-9_=-]{1,255}$/;
const NAMESPACE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export interface PatchworkNames {
  readonly namespace: string;
  /** Stream holding every instance's history and inbox subjects. */
  readonly stream: string;
  /** `<ns>.*.events` and `<ns>.*.inbox`: the stream's subject filters. */
  readonly streamSubjects: readonly string[];
  /** Core (not stored) subject on which clients announce instances that need a host. */
  readonly controlSubject: string;
  readonly leaseBucket: string;
  readonly indexBucket: string;
  readonly blobBucket: string;
  /** Heartbeats of kernel nodes (used by placement). */
  readonly nodeBucket: string;
  /** The inpaint job's uploads registry: which tenant uploaded which blob. */
  readonly uploadBucket: string;
  /** Outputs of jobs (previews, results) by tenant, for download checks. */
  readonly outputBucket: string;
  /** Per-tenant admission of jobs (running slots and the queue). */
  readonly admissionBucket: string;
  historySubject(id: string): string;
  inboxSubject(id: string): string;
  /** Core subject of a running job's live progress (src/common/live-hints.ts): not in the stream. */
  liveSubject(id: string): string;
}

export interface NameOverrides {
  stream?: string;
  blobBucket?: string;
}

export function patchworkNames(namespace = 'job', overrides: NameOverrides = {}): PatchworkNames {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new CodedError('INVALID_ARGUMENT', `namespace '${namespace}' is not valid: use 1-32 characters, a lower-case letter first, then a-z, 0-9, '_' or '-'.`);
  }
  const ns = namespace;
  return {
    namespace: ns,
    stream: overrides.stream ?? `${ns.toUpperCase().replace(/-/g, '_')}S`,
    streamSubjects: [`${ns}.*.events`, `${ns}.*.inbox`],
    controlSubject: `${ns}._ctl.available`,
    leaseBucket: `${ns}_leases`,
    indexBucket: `${ns}_index`,
    blobBucket: overrides.blobBucket ?? `${ns}_blobs`,
    nodeBucket: `${ns}_nodes`,
    uploadBucket: `${ns}_uploads`,
    outputBucket: `${ns}_outputs`,
    admissionBucket: `${ns}_admission`,
    historySubject: (id) => `${ns}.${id}.events`,
    inboxSubject: (id) => `${ns}.${id}.inbox`,
    liveSubject: (id) => `${ns}.${id}.live`,
  };
}

export function assertInstanceId(id: string, derived = false): void {
  const pattern = derived ? DERIVED_ID_PATTERN : INSTANCE_ID_PATTERN;
  if (typeof id !== 'string' || !pattern.test(id)) {
    throw new CodedError(
      'INVALID_ID',
      `instance id '${String(id)}' is not valid: use 1-128 characters from A-Z, a-z, 0-9, '_' and '-' (it becomes a NATS subject token and a KV key).`,
    );
  }
}
