// Bounded admission: a node takes at most `capacity` calls at once (running or waiting for a
// worker); one more is refused at once (RESOURCE_EXHAUSTED) so the client can go elsewhere,
// instead of queueing without bound. While draining, every new call is refused (UNAVAILABLE).
// Team-run members are admitted under a bound of their own (`teamCapacity`, 4x by default): a
// team needs all its members in at once, and a member spends most of a run waiting for its peers
// at step ends, not holding a worker. Counted with the others, members waiting for a peer that
// must run again after a failure would fill the nodes and keep that peer out (a deadlock until
// the team wait times out; found by the fault suite with 4 jobs on 3 nodes).
export type Verdict = 'ok' | 'busy' | 'draining';

export class Admission {
  readonly capacity: number;
  readonly teamCapacity: number;
  #inFlight = 0;
  #team = 0;
  #draining = false;
  #idle: (() => void)[] = [];

  constructor(capacity: number, teamCapacity = 4 * capacity) {
    this.capacity = capacity;
    this.teamCapacity = teamCapacity;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** `team`: a team-run member (its own bound). */
  enter(team = false): Verdict {
    if (this.#draining) return 'draining';
    if (team ? this.#team >= this.teamCapacity : this.#inFlight - this.#team >= this.capacity) return 'busy';
    this.#inFlight++;
    if (team) this.#team++;
    return 'ok';
  }

  leave(team = false): void {
    this.#inFlight--;
    if (team) this.#team--;
    if (this.#inFlight === 0) for (const f of this.#idle.splice(0)) f();
  }

  /** Refuses new calls from now on. */
  drain(): void {
    this.#draining = true;
  }

  /** Resolves when no call is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
