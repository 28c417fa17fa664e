// Talking to a Patchwork gateway: GraphQL over HTTP, subscriptions over WebSocket (graphql-ws,
// reconnecting on its own when a gateway restarts or drains), uploads and blob downloads. Every
// failure becomes a ClientError with the gateway's code.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Connection } from './endpoint.ts';
import { ClientError } from './errors.ts';

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; reason?: string };
}

export interface UploadedImage {
  id: string;
  width: number;
  height: number;
  contentType: string;
  url: string;
}

/** How long one HTTP request may take (uploads of big photos included). */
const REQUEST_TIMEOUT_MS = 120_000;

function unreachable(endpoint: string, err: unknown): ClientError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new ClientError('UNREACHABLE', `cannot reach the gateway at ${endpoint} (${why}). Is it running? Start a local one with \`patchwork up\`, or pass --endpoint.`, undefined, { cause: err });
}

function fromGraphQLErrors(errors: GraphQLErrorBody[]): ClientError {
  const first = errors[0];
  return new ClientError(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first.message, first.extensions?.reason);
}

export class GatewayClient {
  readonly connection: Connection;
  #ws: Client | null = null;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...extra, ...(this.connection.token ? { authorization: `Bearer ${this.connection.token}` } : {}) };
  }

  /** A query or mutation; resolves to `data` or throws the first error as a ClientError. */
  async request<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.connection.endpoint}/graphql`, {
        method: 'POST',
        headers: this.#headers({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' }),
        body: JSON.stringify({ query, variables }),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw unreachable(this.connection.endpoint, e);
    }
    let body: { data?: T | null; errors?: GraphQLErrorBody[] };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new ClientError('BAD_RESPONSE', `the gateway at ${this.connection.endpoint} answered ${res.status} without GraphQL JSON: is that the right --endpoint?`);
    }
    if (body.errors?.length) throw fromGraphQLErrors(body.errors);
    if (!body.data) throw new ClientError('BAD_RESPONSE', `the gateway answered ${res.status} with neither data nor errors.`);
    return body.data;
  }

  /** POST /uploads: the image bytes as the body. */
  async upload(bytes: Uint8Array, contentType: string, signal?: AbortSignal): Promise<UploadedImage> {
    let res: Response;
    try {
      res = await fetch(`${this.connection.endpoint}/uploads`, {
        method: 'POST',
        headers: this.#headers({ 'content-type': contentType }),
        body: new Uint8Array(bytes),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw unreachable(this.connection.endpoint, e);
    }
    const body = (await res.json().catch(() => null)) as (UploadedImage & { error?: { code: string; message: string; reason?: string } }) | null;
    if (res.status === 201 && body?.id) return body;
    if (body?.error) throw new ClientError(body.error.code, body.error.message, body.error.reason);
    throw new ClientError('BAD_RESPONSE', `upload answered ${res.status} without an id.`);
  }

  /** The bytes behind an image `url` (relative URLs are the gateway's own). */
  async download(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const absolute = new URL(url, `${this.connection.endpoint}/`).href;
    let res: Response;
    try {
      res = await fetch(absolute, { headers: this.#headers(), signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw unreachable(this.connection.endpoint, e);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
      throw new ClientError(body?.error?.code ?? 'DOWNLOAD_FAILED', body?.error?.message ?? `GET ${absolute} answered ${res.status}.`);
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  #wsClient(): Client {
    this.#ws ??= createClient({
      url: `${this.connection.endpoint.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: this.connection.token ? { authorization: `Bearer ${this.connection.token}` } : {},
      // A gateway that restarts or drains closes the socket: keep trying for about two minutes
      // (randomised exponential backoff); the subscription then resumes with the current state.
      retryAttempts: 12,
      keepAlive: 15_000,
      lazy: true,
    });
    return this.#ws;
  }

  /**
   * Follows a subscription: yields each `data` until the server completes it. Errors become
   * ClientErrors; aborting `signal` ends the iteration quietly.
   */
  async *subscribe<T>(query: string, variables: Record<string, unknown>, signal: AbortSignal): AsyncGenerator<T> {
    const queue: T[] = [];
    let done = false;
    let failure: ClientError | null = null;
    let wake: (() => void) | null = null;
    const notify = (): void => {
      wake?.();
      wake = null;
    };
    const dispose = this.#wsClient().subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors?.length) failure ??= fromGraphQLErrors(value.errors as GraphQLErrorBody[]);
          else if (value.data) queue.push(value.data as T);
          notify();
        },
        error: (err) => {
          failure = subscriptionError(this.connection.endpoint, err);
          notify();
        },
        complete: () => {
          done = true;
          notify();
        },
      },
    );
    const onAbort = (): void => notify();
    signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (signal.aborted) return;
        if (queue.length) {
          yield queue.shift()!;
          continue;
        }
        if (failure) throw failure;
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      dispose();
    }
  }

  async close(): Promise<void> {
    await this.#ws?.dispose();
    this.#ws = null;
  }
}

function subscriptionError(endpoint: string, err: unknown): ClientError {
  if (Array.isArray(err)) return fromGraphQLErrors(err as GraphQLErrorBody[]);
  const close = err as { code?: number; reason?: string };
  if (close?.code === 4401) return new ClientError('UNAUTHENTICATED', close.reason || 'the gateway refused the token: pass --token or PATCHWORK_TOKEN.');
  if (typeof close?.code === 'number') return new ClientError('UNREACHABLE', `lost the connection to ${endpoint} (WebSocket closed ${close.code}${close.reason ? `: ${close.reason}` : ''}) and could not reconnect.`);
  if (err instanceof Error) return unreachable(endpoint, err);
  return new ClientError('UNREACHABLE', `subscription to ${endpoint} failed: ${String(err)}`);
}
