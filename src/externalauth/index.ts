export {
  DEVICE_FLOW_ERRORS,
  type DeviceAuthorization,
  DeviceFlowError,
  type DeviceFlowErrorCode,
  type DevicePoll,
  pollDeviceLink,
  startDeviceLink,
} from './device-flow.ts';
export { VAULT_ERROR_CODES, VaultError, type VaultErrorCode, vaultErrors } from './errors.ts';
export { isFresh, refreshLeadMs } from './freshness.ts';
export { EVERY_LINK, LINKS_CHANNEL, LinkCache } from './link-cache.ts';
export { LINKED_CHANNEL, pubsubLinkEvents } from './link-events.ts';
export {
  callbackUrl,
  finishLink,
  LINK_FLOW_ERRORS,
  type LinkFlowDeps,
  LinkFlowError,
  type LinkFlowErrorCode,
  startLink,
} from './link-flow.ts';
export { EXTERNAL_AUTH_LINKS, type LinkTable, OIDC_LINKS, type RefreshableLink } from './link-tables.ts';
export type { UpstreamProvider } from './provider.ts';
export { DEFAULT_REFRESH_TIMING, Refresher, type RefresherDeps, type RefreshTiming } from './refresh.ts';
export {
  type ConfiguredProvider,
  type ProviderInfo,
  type ProviderRegistry,
  providerRegistry,
  type RegistryOptions,
} from './registry.ts';
export { revokeToken } from './revoke.ts';
export { classifyValidation, RateLimitWarnings, type Validation, validateToken } from './validate.ts';
export { type FreshToken, type LinkEvents, type LinkState, Vault, type VaultDeps } from './vault.ts';
