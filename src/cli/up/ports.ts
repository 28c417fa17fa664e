// Port checks before anything starts, so a busy port is one clear message instead of a gateway
// that dies while the rest of the cluster comes up.
import { createServer } from 'node:net';

/** True when `host:port` can be listened on right now. */
export function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
