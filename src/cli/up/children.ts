// The three kinds of child `patchwork up` runs, as ChildSpecs: nats-server with JetStream in the
// data folder, kernel nodes and gateways. The node children run this very install with the same
// node binary and loader flags as `up` itself (process.execPath + process.execArgv), plus the
// guard that stops them if `up` disappears.
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildSpec } from './supervisor.ts';

const MAIN = resolve(fileURLToPath(import.meta.url), '../../main.ts');
const GUARD = pathToFileURL(resolve(fileURLToPath(import.meta.url), '../child-guard.ts')).href;

/** A string in a child's command line that tells it apart from unrelated processes (see lock.ts). */
export function markerOf(spec: ChildSpec): string {
  return spec.name === 'nats' ? spec.args[spec.args.indexOf('-sd') + 1] : `${MAIN} ${spec.args[spec.args.indexOf(MAIN) + 1]}`;
}

interface Common {
  dataDir: string;
  echo?: (name: string, line: string) => void;
}

export interface NatsChild {
  spec: ChildSpec;
  /** The client port, known once the server said so (then kept across restarts). */
  port(): number;
}

export function natsChild(binary: string, requestedPort: number, c: Common): NatsChild {
  let port = requestedPort;
  let listening = false;
  const args = ['-js', '-sd', join(c.dataDir, 'nats'), '-a', '127.0.0.1', '-p', String(port)];
  const spec: ChildSpec = {
    name: 'nats',
    command: binary,
    args,
    env: process.env,
    logFile: join(c.dataDir, 'logs', 'nats.log'),
    isReady(line) {
      const listen = /Listening for client connections on \S+:(\d+)/.exec(line);
      if (listen) {
        port = Number(listen[1]);
        // A restart must come back on the same port: the other children know this one.
        args[args.indexOf('-p') + 1] = String(port);
        listening = true;
      }
      return listening && /Server is ready/.test(line);
    },
    stopTimeoutMs: 15_000,
    echo: c.echo,
  };
  return { spec, port: () => port };
}

function nodeChild(name: string, command: string, args: string[], c: Common, isReady: (line: string) => boolean, stopTimeoutMs: number): ChildSpec {
  return {
    name,
    command: process.execPath,
    args: [...process.execArgv, '--import', GUARD, MAIN, command, ...args],
    env: { ...process.env, PATCHWORK_UP_PID: String(process.pid) },
    logFile: join(c.dataDir, 'logs', `${name}.log`),
    isReady,
    stopTimeoutMs,
    echo: c.echo,
  };
}

export function kernelChild(index: number, natsUrl: string, workers: number, c: Common): ChildSpec {
  // Kernel nodes register their own address in NATS; gRPC and metrics ports are free ones.
  return nodeChild(
    `kernel-${index}`,
    'kernel',
    ['--nats', natsUrl, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--workers', String(workers), '--node-id', `up-kernel-${index}`, '--drain-timeout-ms', '20000'],
    c,
    (line) => {
      try {
        return (JSON.parse(line) as { msg?: string }).msg === 'kernel node ready';
      } catch {
        return false;
      }
    },
    30_000,
  );
}

export interface GatewayChild {
  spec: ChildSpec;
  /** Base URL, once the gateway said where it listens. */
  url(): string | null;
}

export function gatewayChild(index: number, natsUrl: string, port: number, host: string, c: Common): GatewayChild {
  let url: string | null = null;
  const spec = nodeChild(
    `gateway-${index}`,
    'gateway',
    ['--nats', natsUrl, '--port', String(port), '--host', host],
    c,
    (line) => {
      const m = /^patchwork gateway listening on (\S+)/.exec(line);
      if (!m) return false;
      url = m[1];
      // A restart must come back on the same port (a free one was asked for the first time).
      const args = spec.args;
      args[args.indexOf('--port') + 1] = new URL(url).port;
      return true;
    },
    // The gateway drains for PATCHWORK_DRAIN_MS (10 s) and gives up by itself after 2x + 5 s.
    30_000,
  );
  return { spec, url: () => url };
}
