// Talking to a gateway as a client would: GraphQL over HTTP (fetch), subscriptions over
// WebSocket with graphql-ws's createClient, uploads and blob downloads.
import { createClient, type Client } from 'graphql-ws';
import sharp from 'sharp';
import WebSocket from 'ws';
import type { RgbaImage } from '../../src/kernel/index.ts';

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; reason?: string; [k: string]: unknown } }>;
}

export async function gql<T = Record<string, unknown>>(base: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GqlResult<T>, 'status'>;
  return { status: res.status, ...body };
}

export function codes(r: GqlResult): string[] {
  return (r.errors ?? []).map((e) => String(e.extensions?.code));
}

export function wsClient(base: string, token?: string, extra: { retryAttempts?: number } = {}): Client {
  return createClient({
    url: `${base.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: extra.retryAttempts ?? 0,
    lazy: true,
  });
}

export interface SubscriptionRecord<T> {
  values: T[];
  errors: unknown[];
  done: Promise<void>;
  dispose(): void;
}

/** Subscribes and records every value until complete or error. */
export function record<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown>, onValue?: (v: T) => void): SubscriptionRecord<T> {
  const values: T[] = [];
  const errors: unknown[] = [];
  let dispose = () => {};
  const done = new Promise<void>((resolve) => {
    dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) errors.push(...v.errors);
          if (v.data) {
            values.push(v.data as T);
            onValue?.(v.data as T);
          }
        },
        error: (e) => {
          errors.push(e);
          resolve();
        },
        complete: () => resolve(),
      },
    );
  });
  return { values, errors, done, dispose: () => dispose() };
}

export interface UploadResult {
  status: number;
  body: { id?: string; width?: number; height?: number; contentType?: string; url?: string; error?: { code: string; message: string; reason?: string } };
}

export async function upload(base: string, bytes: Uint8Array, token?: string, contentType = 'image/png'): Promise<UploadResult> {
  const res = await fetch(`${base}/uploads`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, body: (await res.json()) as UploadResult['body'] };
}

export async function download(base: string, url: string, token?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url.startsWith('http') ? url : `${base}${url}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}

export async function png(img: RgbaImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 4 } }).png().toBuffer();
}
