// One kernel node's gRPC channel, with promise-returning methods and a deadline on every call.
// Errors come back as CodedError (see cluster/status.ts); this layer does not retry.
import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { fromServiceError } from '../cluster/status.ts';
import { channelOptions } from '../cluster/transport.ts';
import {
  KernelServiceClient,
  type FinishRequest,
  type FinishResponse,
  type PrepareRequest,
  type PrepareResponse,
  type PreviewRequest,
  type PreviewResponse,
  type StepRequest,
  type StepResponse,
} from '../generated/patchwork/kernel/v1/kernel.ts';

/** Request and response types by method. */
export interface KernelMethods {
  prepare: [PrepareRequest, PrepareResponse];
  step: [StepRequest, StepResponse];
  preview: [PreviewRequest, PreviewResponse];
  finish: [FinishRequest, FinishResponse];
}

export type KernelMethod = keyof KernelMethods;

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res?: Res) => void) => { cancel(): void };

export class NodeClient {
  readonly id: string;
  readonly address: string;
  readonly #client: KernelServiceClient;

  constructor(id: string, address: string, creds: ChannelCredentials, tlsServerName?: string) {
    this.id = id;
    this.address = address;
    this.#client = new KernelServiceClient(address, creds, channelOptions(tlsServerName));
  }

  /** One call with a deadline; `signal` cancels it (the call then fails with CANCELLED). */
  call<M extends KernelMethod>(method: M, request: KernelMethods[M][0], deadlineMs: number, signal?: AbortSignal): Promise<KernelMethods[M][1]> {
    const fn = this.#client[method] as unknown as Unary<KernelMethods[M][0], KernelMethods[M][1]>;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => call.cancel();
      const call = fn.call(this.#client, request, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(fromServiceError(err, this.id));
        else resolve(res!);
      });
      if (signal?.aborted) call.cancel();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.#client.close();
  }
}
