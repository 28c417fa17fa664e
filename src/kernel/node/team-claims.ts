// Work stealing in a team run (TeamSpec.steal). A member that has run its share of a step takes
// tiles from the end of a slower member's share instead of waiting for it. Before it runs one, it
// claims it; the owner skips a tile claimed before it started it, and once it has started every
// tile it will run, it tells where it stopped (its "front": the index in its share of the last
// tile it started), so thieves take nothing at or before that index. A tile that both ran (a
// claim that came too late) gives the same bytes; the owner's copy counts (team-run.ts).
// Small core NATS messages on the job's claims subject, and delivered locally too (members of one
// run may share a node; the connection does not echo).
import { headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { PatchworkNames } from '../../common/names.ts';
import { teamClaimsSubject } from '../cluster/registry.ts';
import { teamKey, type TeamStepKey } from './team-exchange.ts';

/** Steps remembered per job (claims and fronts): a run has a few dozen steps. */
const KEEP = 256;

interface StepClaims {
  tiles: Set<number>;
  /** The owner's front, once it has started every tile it will run. */
  front?: number;
}

interface JobClaims {
  sub: Subscription;
  steps: Map<string, StepClaims>;
}

interface ClaimMessage {
  /** teamKey of the owner's step (member = the owner). */
  k: string;
  tile?: number;
  front?: number;
}

export class TeamClaims {
  readonly #nc: NatsConnection;
  readonly #names: PatchworkNames;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #jobs = new Map<string, JobClaims>();

  constructor(nc: NatsConnection, names: PatchworkNames, nodeId: string, log: Logger) {
    this.#nc = nc;
    this.#names = names;
    this.#nodeId = nodeId;
    this.#log = log;
  }

  /** Starts receiving the job's claims (idempotent): from a node's first call for the job. */
  follow(jobKey: string): void {
    if (this.#jobs.has(jobKey)) return;
    const job: JobClaims = { sub: undefined as unknown as Subscription, steps: new Map() };
    job.sub = this.#nc.subscribe(teamClaimsSubject(this.#names, jobKey), {
      callback: (err, msg) => {
        if (err) {
          this.#log.warn({ err, jobKey }, 'team claims subscription failed');
          return;
        }
        try {
          this.#record(job, JSON.parse(new TextDecoder().decode(msg.data)) as ClaimMessage);
        } catch (e) {
          this.#log.warn({ err: e, jobKey }, 'dropped a malformed team claim');
        }
      },
    });
    this.#jobs.set(jobKey, job);
  }

  unfollow(jobKey: string): void {
    this.#jobs.get(jobKey)?.sub.unsubscribe();
    this.#jobs.delete(jobKey);
  }

  /** Claims `tile` of the share of `owner` (key.member) in that step. */
  claim(jobKey: string, owner: TeamStepKey, tile: number): void {
    this.#send(jobKey, { k: teamKey(owner), tile });
  }

  /** Whether `tile` of `owner`'s share was claimed by another member. */
  claimed(jobKey: string, owner: TeamStepKey, tile: number): boolean {
    return this.#jobs.get(jobKey)?.steps.get(teamKey(owner))?.tiles.has(tile) ?? false;
  }

  /** The owner has started every tile of its share it will run, the last at `index`. */
  setFront(jobKey: string, owner: TeamStepKey, index: number): void {
    this.#send(jobKey, { k: teamKey(owner), front: index });
  }

  frontOf(jobKey: string, owner: TeamStepKey): number | undefined {
    return this.#jobs.get(jobKey)?.steps.get(teamKey(owner))?.front;
  }

  #send(jobKey: string, m: ClaimMessage): void {
    const job = this.#jobs.get(jobKey);
    if (job) this.#record(job, m);
    const h = headers();
    h.set('pw-node', this.#nodeId);
    this.#nc.publish(teamClaimsSubject(this.#names, jobKey), new TextEncoder().encode(JSON.stringify(m)), { headers: h });
  }

  #record(job: JobClaims, m: ClaimMessage): void {
    if (typeof m.k !== 'string') return;
    let step = job.steps.get(m.k);
    if (!step) {
      step = { tiles: new Set() };
      job.steps.set(m.k, step);
      if (job.steps.size > KEEP) job.steps.delete(job.steps.keys().next().value!);
    }
    if (typeof m.tile === 'number') step.tiles.add(m.tile);
    if (typeof m.front === 'number') step.front = Math.max(step.front ?? -1, m.front);
  }

  close(): void {
    for (const job of this.#jobs.values()) job.sub.unsubscribe();
    this.#jobs.clear();
  }
}
