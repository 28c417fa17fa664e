// The data folder's lock: `<data>/up.json` names the `patchwork up` process using the folder and
// the pids of its children. A second `up` on the same folder is refused while the first lives;
// children left behind by an `up` that was killed outright (SIGKILL gives it no chance to stop
// them) are stopped by the next `up` before it starts its own.
import { readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { CodedError } from '../../common/errors.ts';

export interface LockRecord {
  pid: number;
  startedAt: string;
  /** Children by name: their pid and a string their command line contains (to not kill a reused pid). */
  children: Record<string, { pid: number; marker: string }>;
}

export function lockPath(dataDir: string): string {
  return join(dataDir, 'up.json');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's command line (Linux /proc), or null when unknown. */
function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

function readLock(dataDir: string): LockRecord | null {
  try {
    return JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockRecord;
  } catch {
    return null;
  }
}

export class DataDirLock {
  readonly dataDir: string;
  readonly #record: LockRecord;

  private constructor(dataDir: string, record: LockRecord) {
    this.dataDir = dataDir;
    this.#record = record;
  }

  /**
   * Takes the folder: refuses (DATA_DIR_BUSY) while another live `up` holds it; stops the leftover
   * children of a dead one (their names are returned, for the user).
   */
  static async acquire(dataDir: string): Promise<{ lock: DataDirLock; leftovers: string[] }> {
    const old = readLock(dataDir);
    const leftovers: string[] = [];
    if (old) {
      const cmd = old.pid !== process.pid && isAlive(old.pid) ? commandLine(old.pid) : null;
      if (cmd !== null && /\bup\b/.test(cmd) && /main\.ts|patchwork/.test(cmd)) {
        throw new CodedError('DATA_DIR_BUSY', `another \`patchwork up\` (pid ${old.pid}) is using ${dataDir}; stop it first (Ctrl-C in its terminal, or kill ${old.pid}), or pass another --data folder.`);
      }
      for (const [name, child] of Object.entries(old.children)) {
        const line = isAlive(child.pid) ? commandLine(child.pid) : null;
        if (line === null || !line.includes(child.marker)) continue;
        leftovers.push(`${name} (pid ${child.pid})`);
        await stopPid(child.pid);
      }
    }
    const lock = new DataDirLock(dataDir, { pid: process.pid, startedAt: new Date().toISOString(), children: {} });
    lock.#write();
    return { lock, leftovers };
  }

  /** Records a (re)started child. */
  child(name: string, pid: number, marker: string): void {
    this.#record.children[name] = { pid, marker };
    this.#write();
  }

  release(): void {
    rmSync(lockPath(this.dataDir), { force: true });
  }

  #write(): void {
    const tmp = `${lockPath(this.dataDir)}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.#record, null, 2)}\n`);
    renameSync(tmp, lockPath(this.dataDir));
  }
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
