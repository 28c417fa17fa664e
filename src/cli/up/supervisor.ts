// One supervised child process of `patchwork up`: started, watched until its output says it is
// ready, restarted with exponential backoff when it dies unexpectedly, stopped gracefully (its own
// signal handlers drain it) with a hard kill after a timeout.
//
// Children run in their own process group (detached), so a Ctrl-C in the terminal reaches only
// `up`, which then stops them in order (gateways, kernel nodes, NATS last) instead of all at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ChildSpec {
  /** Short name shown to the user: nats, gateway-1, kernel-2. */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Everything the child prints goes here (appended). */
  logFile: string;
  /** Recognises the line that says the child is ready; may read facts (a port) from it. */
  isReady(line: string): boolean;
  /** How long a graceful stop may take before SIGKILL. */
  stopTimeoutMs: number;
  /** Copy the child's lines to this function too (the `--verbose` terminal view). */
  echo?: (name: string, line: string) => void;
}

export interface SupervisorEvents {
  /** Something the user should see: a crash, a restart. */
  say(line: string): void;
  /** The child (re)started and is ready; pid of the new process. */
  ready?(name: string, pid: number): void;
}

/** Backoff before the n-th consecutive restart (n ≥ 1): 0.5 s doubling, at most 30 s. */
export function restartDelayMs(consecutiveFailures: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, consecutiveFailures - 1));
}

/** A child that stays up this long has recovered: its next crash starts the backoff afresh. */
const STABLE_MS = 30_000;
const TAIL_LINES = 40;

export class SupervisedChild {
  readonly spec: ChildSpec;
  readonly #events: SupervisorEvents;
  #child: ChildProcess | null = null;
  #log: WriteStream;
  #tail: string[] = [];
  #stopping = false;
  #restartTimer: NodeJS.Timeout | null = null;
  #failures = 0;
  #startedAt = 0;
  #restarts = 0;
  #exited: Promise<void> = Promise.resolve();

  constructor(spec: ChildSpec, events: SupervisorEvents) {
    this.spec = spec;
    this.#events = events;
    this.#log = createWriteStream(spec.logFile, { flags: 'a' });
  }

  get name(): string {
    return this.spec.name;
  }

  /** Pid of the running process, if any. */
  get pid(): number | undefined {
    const c = this.#child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  /** How many times the child was restarted after dying. */
  get restarts(): number {
    return this.#restarts;
  }

  /** The last lines the child printed (for error reports). */
  tail(): string {
    return this.#tail.join('\n');
  }

  /**
   * First start: resolves when the child says it is ready; rejects (with its last lines) when it
   * exits first or is not ready within `timeoutMs`. A child that fails its first start is not
   * restarted: that is a configuration or environment problem restarting cannot fix.
   */
  start(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new Error(`${this.name} was not ready within ${Math.round(timeoutMs / 1000)} s. Its last lines:\n${this.tail()}`));
      }, timeoutMs);
      this.#spawn({
        onReady: () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve();
        },
        onEarlyExit: (how) => {
          if (settled) return true;
          settled = true;
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (${how}) while starting. Its last lines (full log: ${this.spec.logFile}):\n${this.tail()}`));
          return true;
        },
      });
    });
  }

  #spawn(hooks: { onReady?: () => void; onEarlyExit?: (how: string) => boolean } = {}): void {
    const { spec } = this;
    this.#startedAt = Date.now();
    this.#log.write(`--- ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.#child = child;
    let ready = false;
    let pending = '';
    const onData = (buf: Buffer): void => {
      this.#log.write(buf);
      pending += buf.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        this.#tail.push(line);
        if (this.#tail.length > TAIL_LINES) this.#tail.shift();
        spec.echo?.(spec.name, line);
        if (!ready && spec.isReady(line)) {
          ready = true;
          this.#events.ready?.(spec.name, child.pid!);
          hooks.onReady?.();
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.#exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.#log.write(`--- cannot start: ${err.message}\n`);
        this.#tail.push(`cannot start ${spec.command}: ${err.message}`);
      });
      child.once('close', (code, signal) => {
        const how = signal ? `signal ${signal}` : `code ${code}`;
        this.#log.write(`--- ${new Date().toISOString()} exited (${how})\n`);
        resolve();
        if (this.#child === child) this.#child = null;
        if (this.#stopping) return;
        if (!ready && hooks.onEarlyExit?.(how)) return;
        this.#scheduleRestart(how);
      });
    });
  }

  #scheduleRestart(how: string): void {
    const ranMs = Date.now() - this.#startedAt;
    this.#failures = ranMs >= STABLE_MS ? 1 : this.#failures + 1;
    const delay = restartDelayMs(this.#failures);
    this.#events.say(`${this.name} exited (${how}); restarting in ${(delay / 1000).toFixed(1)} s (log: ${this.spec.logFile})`);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (this.#stopping) return;
      this.#restarts++;
      this.#spawn();
    }, delay);
  }

  /** Graceful stop: `signal` (its handlers drain it), SIGKILL after stopTimeoutMs. No restart. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const hard = setTimeout(() => {
        this.#events.say(`${this.name} did not stop within ${Math.round(this.spec.stopTimeoutMs / 1000)} s; killing it`);
        child.kill('SIGKILL');
      }, this.spec.stopTimeoutMs);
      await this.#exited;
      clearTimeout(hard);
    }
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }

  /** Immediate SIGKILL (a second Ctrl-C). */
  killNow(): void {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#child?.kill('SIGKILL');
  }
}
