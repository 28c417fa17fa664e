// The gateway's public entry: build one with createGateway(deps, config).
export { createGateway, DRAIN_CLOSE_CODE, type Gateway } from './gateway.ts';
export { loadGatewayConfig, GATEWAY_SETTINGS, parseTokenList, type GatewayConfig, type GatewayConfigInput, type SettingSpec } from './config.ts';
export type { GatewayDeps, GatewayBlobStore, KernelNodeInfo, DependencyHealth } from './deps.ts';
export { LOCAL_TENANT } from './auth.ts';
export { ErrorCode, type GatewayErrorCode } from './errors.ts';
