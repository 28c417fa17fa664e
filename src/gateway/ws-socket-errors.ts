// Who is at fault when a WebSocket emits 'error'. ws reports a client's protocol violations — a
// frame over maxPayload, invalid UTF-8, a bad close code, an unmasked frame — as 'error' events
// (codes WS_ERR_*) and closes the socket itself with the code the RFC asks for (1009, 1007,
// 1002). graphql-ws's listener for that event prints "Internal error emitted on a WebSocket
// socket. Please check your implementation." with console.error and tries to close with 4500:
// any client could then fill the logs with what reads as a server fault, one oversized message at
// a time. This takes the sockets' 'error' events over: a client's violation is logged at debug;
// anything else is what graphql-ws says it is, an internal error, logged and closed with 4500.
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';

/** graphql-ws's close code for an internal error. */
const INTERNAL_ERROR_CLOSE = 4500;

function isClientViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

/** Call before graphql-ws's useServer: its listener is replaced once it has been added. */
export function classifySocketErrors(wsServer: WebSocketServer, logger: Logger): void {
  wsServer.on('connection', (socket: WebSocket) => {
    // graphql-ws adds its listener in its own 'connection' handler, in this same emit.
    queueMicrotask(() => {
      socket.removeAllListeners('error');
      socket.on('error', (err: Error) => {
        if (isClientViolation(err)) {
          logger.debug({ code: (err as { code?: string }).code, message: err.message }, 'WebSocket client broke the protocol; ws closed the socket');
          return;
        }
        logger.error({ err }, 'internal error on a WebSocket');
        socket.close(INTERNAL_ERROR_CLOSE, 'Internal server error');
      });
    });
  });
}
