// The kernel cluster's client API, for the actor runtime's dispatcher and the remote driver.
export { KernelCluster, type KernelClusterOptions, type CallOptions, type CallResult } from './kernel-cluster.ts';
export { NodeSet, type LiveNode } from './node-set.ts';
export { NodeClient, type KernelMethod, type KernelMethods } from './node-client.ts';
export { rendezvousRank, shardCount, splitTiles } from './placement.ts';
export { inpaintRemote, REMOTE_FILL_DEFAULTS, type RemoteFillOptions, type RemoteFillResult, type RemoteProgress, type RemoteUsage } from './inpaint-remote.ts';
export { clientConfig, type ClientConfig } from '../cluster/config.ts';
export { optionsToWire, formatToWire, jobKeyOf } from '../cluster/wire.ts';
export type { ClientTls } from '../cluster/transport.ts';
export * from '../generated/patchwork/kernel/v1/kernel.ts';
