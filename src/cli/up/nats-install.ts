// Finding nats-server for `patchwork up`, and installing it when it is missing and we can: root
// (or password-less sudo) on Debian or Ubuntu with apt-get, where the distribution's package is a
// one-line install. Everywhere else the user gets the exact commands to run.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { CodedError } from '../../common/errors.ts';

/** How to install nats-server by hand, shown when it is missing and we cannot install it. */
export const NATS_INSTALL_HELP = [
  'patchwork up needs nats-server (the NATS server, with JetStream) and cannot find it.',
  'Install it, then run this again:',
  '  Debian, Ubuntu:  sudo apt-get install -y nats-server',
  '  macOS:           brew install nats-server',
  '  anywhere:        download the official release from https://github.com/nats-io/nats-server/releases,',
  '                   unpack it and put nats-server on your PATH',
  'Or point at a binary: --nats-server /path/to/nats-server (or NATS_SERVER_BIN).',
].join('\n');

/** Full path of an executable: `name` itself when it has a slash, else the first match on PATH. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const executable = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return executable(name) ? name : null;
  // Debian puts admin tools in /usr/sbin, which a non-root PATH may lack.
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/usr/sbin'];
  for (const dir of dirs) {
    if (!dir || !isAbsolute(dir)) continue;
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return null;
}

export interface MachineFacts {
  /** Effective user id (0 = root). */
  uid: number;
  /** ID and ID_LIKE of /etc/os-release, lower case. */
  osIds: string[];
  hasAptGet: boolean;
  /** `sudo -n true` succeeds (password-less sudo). */
  passwordlessSudo: boolean;
}

export type InstallPlan = { kind: 'apt'; sudo: boolean } | { kind: 'manual'; why: string };

/** Whether we may install nats-server ourselves, and how. */
export function planNatsInstall(facts: MachineFacts): InstallPlan {
  if (!facts.osIds.some((id) => id === 'debian' || id === 'ubuntu')) return { kind: 'manual', why: 'not Debian or Ubuntu' };
  if (!facts.hasAptGet) return { kind: 'manual', why: 'apt-get not found' };
  if (facts.uid === 0) return { kind: 'apt', sudo: false };
  if (facts.passwordlessSudo) return { kind: 'apt', sudo: true };
  return { kind: 'manual', why: 'not root, and sudo asks for a password' };
}

export function machineFacts(): MachineFacts {
  let osIds: string[] = [];
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    for (const key of ['ID', 'ID_LIKE']) {
      const m = new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(text);
      if (m) osIds.push(...m[1].toLowerCase().split(/\s+/).filter(Boolean));
    }
  } catch {
    osIds = [];
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const hasAptGet = findExecutable('apt-get') !== null;
  const passwordlessSudo = uid !== 0 && findExecutable('sudo') !== null && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  return { uid, osIds, hasAptGet, passwordlessSudo };
}

function aptGet(args: string[], sudo: boolean): boolean {
  const cmd = sudo ? 'sudo' : 'apt-get';
  const argv = sudo ? ['-n', 'apt-get', ...args] : args;
  const res = spawnSync(cmd, argv, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return res.status === 0;
}

/**
 * The path of nats-server. When it is missing: installs it with apt-get if the machine allows
 * (saying so first), else throws NATS_MISSING whose message says how to install it.
 */
export function ensureNatsServer(binary: string, opts: { install: boolean; say: (line: string) => void; facts?: MachineFacts }): string {
  const found = findExecutable(binary);
  if (found) return found;
  // Only the default name can be installed: a path the user gave is theirs to fix.
  if (binary !== 'nats-server' || !opts.install) throw new CodedError('NATS_MISSING', binary === 'nats-server' ? NATS_INSTALL_HELP : `nats-server not found at ${binary}.\n${NATS_INSTALL_HELP}`);
  const plan = planNatsInstall(opts.facts ?? machineFacts());
  if (plan.kind === 'manual') throw new CodedError('NATS_MISSING', `${NATS_INSTALL_HELP}\n(Not installing it automatically: ${plan.why}.)`);
  const prefix = plan.sudo ? 'sudo ' : '';
  opts.say(`nats-server is missing: installing Debian's package with \`${prefix}apt-get install -y nats-server\` (skip this with --no-install).`);
  // A fresh machine may have empty package lists: update once if the first attempt fails.
  const ok = aptGet(['install', '-y', '-q', 'nats-server'], plan.sudo) || (aptGet(['update', '-q'], plan.sudo) && aptGet(['install', '-y', '-q', 'nats-server'], plan.sudo));
  const after = findExecutable('nats-server');
  if (!ok || !after) throw new CodedError('NATS_MISSING', `installing nats-server with apt-get failed (see its output above).\n${NATS_INSTALL_HELP}`);
  opts.say(`installed ${after}`);
  return after;
}
