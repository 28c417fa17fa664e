// Speaking HTTP by hand over a TCP socket, for what fetch will not send: stalled or trickled
// bodies, chunked bodies past a cap, request targets fetch would normalise (`..`, `%00`).
import { connect as netConnect, type Socket } from 'node:net';

/** Sends raw bytes and resolves with everything the server answered until it closed. */
export function rawRequest(port: number, send: (sock: Socket) => void, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(port, '127.0.0.1', () => send(sock));
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer; got so far: ${out}`));
    }, timeoutMs);
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
