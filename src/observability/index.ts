export { createLogger, type Logger, logDestination } from './logger.ts';
export { Metrics } from './metrics.ts';
