export { renderConfigDocs } from './docs.ts';
export { formatDuration, parseDuration } from './duration.ts';
export { decodeEncryptionKey, ENCRYPTION_KEY_BYTES, encryptionKeyList } from './encryption-keys.ts';
export {
  type ExternalAuthField,
  type ExternalAuthProviderConfig,
  type ExternalAuthSources,
  externalAuthEnv,
  externalAuthEnvName,
  parseExternalAuth,
} from './external-auth.ts';
export { ConfigError, type ConfigIssue, type ConfigSources, loadConfig } from './load.ts';
export {
  type Config,
  flagName,
  LOG_LEVELS,
  type LogLevel,
  OPTION_LIST,
  OPTIONS,
  type OptionDef,
} from './options.ts';
export { PROVIDER_TYPES, type ProviderType, REVOKE_STYLES, type RevokeStyle } from './provider-types.ts';
