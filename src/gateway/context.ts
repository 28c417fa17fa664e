// What every resolver gets: the caller's tenant and the gateway's parts.
import type { JobService } from '../actors/jobs/types.ts';
import type { GatewayDeps } from './deps.ts';
import type { JobWatchHub } from './watch-hub.ts';

export interface GatewayContext {
  tenant: string;
  jobs: JobService;
  hub: JobWatchHub;
  kernelNodes: GatewayDeps['kernelNodes'];
  /** The URL clients fetch a blob from. */
  blobUrl(id: string): string;
}
