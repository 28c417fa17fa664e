// The page's door to the gateway: GraphQL over fetch, subscriptions over graphql-ws (which
// reconnects forever after a network drop and re-subscribes: the gateway then sends the job's
// current state first), uploads, and blobs fetched with the Authorization header and kept as
// object URLs (blobs are content-addressed, so a URL's bytes never change).
import { createClient, type Client } from 'graphql-ws';

export class ApiError extends Error {
  readonly code: string;
  readonly reason: string | undefined;

  constructor(code: string, message: string, reason?: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

export type ConnectionState = 'connecting' | 'online' | 'reconnecting';

export interface UploadedImage {
  id: string;
  width: number;
  height: number;
  contentType: string;
}

export interface Sink<T> {
  next(value: T): void;
  error(err: ApiError): void;
  complete(): void;
}

const TOKEN_KEY = 'patchwork.token';
const MAX_CACHED_BLOBS = 120;

export class Api {
  #token: string | null = localStorage.getItem(TOKEN_KEY);
  #ws: Client | null = null;
  #blobs = new Map<string, Promise<string>>();
  /** Subscriptions in progress: a socket closing under them is a drop, else just lazy closing. */
  #active = 0;
  onConnection: (state: ConnectionState) => void = () => {};
  onUnauthorized: () => void = () => {};

  get token(): string | null {
    return this.#token;
  }

  setToken(token: string | null): void {
    this.#token = token || null;
    if (this.#token) localStorage.setItem(TOKEN_KEY, this.#token);
    else localStorage.removeItem(TOKEN_KEY);
    // New credentials need a new socket; active subscriptions are re-made by their owners.
    void this.#ws?.dispose();
    this.#ws = null;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#token ? { ...extra, authorization: `Bearer ${this.#token}` } : extra;
  }

  #fail(code: string, message: string, reason?: string): ApiError {
    if (code === 'UNAUTHENTICATED') this.onUnauthorized();
    return new ApiError(code, message, reason);
  }

  async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch('/graphql', { method: 'POST', headers: this.#headers({ 'content-type': 'application/json' }), body: JSON.stringify({ query, variables }) });
    } catch {
      throw new ApiError('NETWORK', 'cannot reach the server; check your connection.');
    }
    const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string; reason?: string } }> };
    const e = body.errors?.[0];
    if (e) throw this.#fail(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR', e.message, e.extensions?.reason);
    if (!body.data) throw new ApiError('BAD_RESPONSE', `the server answered ${res.status}.`);
    return body.data;
  }

  async upload(blob: Blob): Promise<UploadedImage> {
    let res: Response;
    try {
      res = await fetch('/uploads', { method: 'POST', headers: this.#headers({ 'content-type': blob.type || 'application/octet-stream' }), body: blob });
    } catch {
      throw new ApiError('NETWORK', 'the upload failed; check your connection.');
    }
    const body = (await res.json().catch(() => ({}))) as UploadedImage & { error?: { code: string; message: string; reason?: string } };
    if (res.status === 201) return body;
    throw this.#fail(body.error?.code ?? 'UPLOAD_FAILED', body.error?.message ?? `the upload answered ${res.status}.`, body.error?.reason);
  }

  /** An object URL of the blob at `url` (fetched once with the auth header). */
  objectUrl(url: string): Promise<string> {
    let p = this.#blobs.get(url);
    if (!p) {
      p = (async () => {
        const res = await fetch(url, { headers: this.#headers() });
        if (!res.ok) throw this.#fail(res.status === 401 ? 'UNAUTHENTICATED' : 'NOT_FOUND', `cannot load ${url} (${res.status}).`);
        return URL.createObjectURL(await res.blob());
      })();
      p.catch(() => this.#blobs.delete(url));
      this.#blobs.set(url, p);
      if (this.#blobs.size > MAX_CACHED_BLOBS) {
        const [oldest, old] = this.#blobs.entries().next().value as [string, Promise<string>];
        this.#blobs.delete(oldest);
        void old.then((u) => URL.revokeObjectURL(u), () => undefined);
      }
    }
    return p;
  }

  #client(): Client {
    if (this.#ws) return this.#ws;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
    let everConnected = false;
    this.onConnection('connecting');
    this.#ws = createClient({
      url,
      connectionParams: () => (this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
      lazy: true,
      keepAlive: 10_000,
      // After a network drop keep trying (every few seconds at most); 4401 (bad token) is final.
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(5_000, 300 * 2 ** retries) * (0.75 + Math.random() / 2))),
      on: {
        connected: () => {
          everConnected = true;
          this.onConnection('online');
        },
        closed: (event) => {
          if ((event as CloseEvent | undefined)?.code === 4401) this.onUnauthorized();
          if (this.#active > 0) this.onConnection(everConnected ? 'reconnecting' : 'connecting');
        },
      },
    });
    return this.#ws;
  }

  /** Subscribes; returns the function that ends it. */
  subscribe<T>(query: string, variables: Record<string, unknown>, sink: Sink<T>): () => void {
    this.#active++;
    let ended = false;
    const end = (): void => {
      if (!ended) this.#active--;
      ended = true;
    };
    const dispose = this.#client().subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          const e = v.errors?.[0] as { message: string; extensions?: { code?: string; reason?: string } } | undefined;
          if (e) sink.error(this.#fail(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR', e.message, e.extensions?.reason));
          else if (v.data) sink.next(v.data as T);
        },
        error: (err) => {
          if (Array.isArray(err)) {
            const e = err[0] as { message: string; extensions?: { code?: string } };
            sink.error(this.#fail(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR', e.message));
          } else if ((err as CloseEvent)?.code === 4401) sink.error(new ApiError('UNAUTHENTICATED', 'the token was refused.'));
          else sink.error(new ApiError('NETWORK', 'lost the connection to the server.'));
          end();
        },
        complete: () => {
          end();
          sink.complete();
        },
      },
    );
    return () => {
      end();
      dispose();
    };
  }
}
