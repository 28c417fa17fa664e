// Purge and retention. Per-subject state in NATS grows with the number of subjects, so finished
// instances do not keep their history forever: purge deletes a finished instance's history and
// inbox subjects (and its sub-orchestrations'), while the index keeps its summary, marked purged.
// A host with a retention period sweeps finished root instances older than it.
import { CodedError } from '../common/errors.ts';
import type { ActorClient } from './client.ts';
import { decodeBatch } from './codec.ts';
import { instanceNotFound } from './errors.ts';
import { isTerminalStatus } from './instance-index.ts';
import { readSubject } from './journal.ts';
import type { ActorStorage } from './storage.ts';

export async function purgeInstance(storage: ActorStorage, id: string): Promise<{ purged: string[] }> {
  const { js, jsm, names, index } = storage;
  const entry = await index.get(id);
  if (!entry) throw instanceNotFound(id);
  if (!isTerminalStatus(entry.status)) {
    throw new CodedError('INSTANCE_NOT_TERMINAL', `instance '${id}' is ${entry.status}; only finished instances can be purged. Terminate it first.`, {
      details: { id, status: entry.status },
    });
  }
  const purged: string[] = [];
  if (entry.purgedAt !== undefined) return { purged };
  const children = new Set<string>();
  for (const m of await readSubject(js, jsm, names.stream, names.historySubject(id))) {
    for (const e of decodeBatch(m.data)) if (e.type === 'SubStarted') children.add(e.childId);
  }
  for (const child of children) {
    const c = await index.get(child);
    if (c && isTerminalStatus(c.status)) purged.push(...(await purgeInstance(storage, child)).purged);
  }
  await jsm.streams.purge(names.stream, { filter: names.historySubject(id) });
  await jsm.streams.purge(names.stream, { filter: names.inboxSubject(id) });
  const now = Date.now();
  await index.modify(id, (e) => ({ ...e, purgedAt: now, updatedAt: now }));
  purged.push(id);
  return { purged };
}

/** Purges finished root instances that finished more than `afterMs` ago. Returns the purged ids. */
export async function sweepRetention(client: ActorClient, afterMs: number, now = Date.now()): Promise<string[]> {
  const out: string[] = [];
  for (const e of await client.storage.index.listAll()) {
    if (e.parentId !== undefined || e.purgedAt !== undefined || !isTerminalStatus(e.status)) continue;
    if ((e.completedAt ?? e.updatedAt) > now - afterMs) continue;
    out.push(...(await purgeInstance(client.storage, e.id)).purged);
  }
  return out;
}
