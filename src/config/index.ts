export { renderConfigDocs } from './docs.ts';
export { formatDuration, parseDuration } from './duration.ts';
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
