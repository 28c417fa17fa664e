// KernelService on a grpc-js server: admission (busy / draining), metrics, logging and error
// mapping around the plain handlers of kernel-service.ts.
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CodedError } from '../../common/errors.ts';
import { NodeErrorCode, grpcStatusName, toStatus } from '../cluster/status.ts';
import type { KernelServiceServer, Usage } from '../generated/patchwork/kernel/v1/kernel.ts';
import type { Admission } from './admission.ts';
import { finishCall, prepareCall, previewCall, stepCall, type ServiceDeps } from './kernel-service.ts';
import type { NodeMetrics } from './metrics.ts';

interface WithUsage {
  usage?: Usage | undefined;
}

export function kernelServiceImpl(deps: ServiceDeps, admission: Admission, metrics: NodeMetrics, log: Logger): KernelServiceServer {
  function unary<Req, Res extends WithUsage>(method: string, fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>, isTeam: (req: Req) => boolean = () => false): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const team = isTeam(call.request);
      const verdict = admission.enter(team);
      if (verdict !== 'ok') {
        metrics.rejected.inc({ reason: verdict });
        metrics.calls.inc({ method, code: verdict === 'busy' ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE' });
        const err =
          verdict === 'busy'
            ? new CodedError(NodeErrorCode.busy, `node ${deps.nodeId} is at capacity (${admission.capacity} calls); try another node or later`, { retryable: true })
            : new CodedError(NodeErrorCode.draining, `node ${deps.nodeId} is shutting down; use another node`, { retryable: true });
        callback(toStatus(err));
        return;
      }
      const t0 = performance.now();
      const stop = metrics.latency.startTimer({ method });
      fn(call.request, call)
        .then(
          (res) => {
            metrics.calls.inc({ method, code: 'OK' });
            if (res.usage) metrics.kernelMs.inc({ method }, res.usage.kernelMs);
            log.debug({ method, ms: Math.round(performance.now() - t0), kernelMs: res.usage?.kernelMs }, 'call done');
            callback(null, res);
          },
          (err: unknown) => {
            const st = toStatus(err);
            const code = grpcStatusName(st.code ?? Status.UNKNOWN);
            metrics.calls.inc({ method, code });
            const level = st.code === Status.INTERNAL || st.code === Status.UNAVAILABLE ? 'error' : 'warn';
            log[level]({ method, code, pwCode: st.metadata?.get('pw-code')[0], err: err instanceof Error ? err.message : String(err) }, 'call failed');
            callback(st);
          },
        )
        .finally(() => {
          stop();
          admission.leave(team);
        });
    };
  }

  return {
    prepare: unary('Prepare', (req) => prepareCall(deps, req)),
    step: unary('Step', (req, call) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      return stepCall(deps, req, { signal: abort.signal });
    }, (req) => req.team !== undefined),
    preview: unary('Preview', (req) => previewCall(deps, req)),
    finish: unary('Finish', (req) => finishCall(deps, req)),
  };
}
