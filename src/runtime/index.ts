export { type ResolvedDatabase, resolveDatabase } from './database.ts';
export { PURGE_RETAIN_MS, type PurgeResult, purgeExpired } from './purge.ts';
export { AddressInUseError, type RunningServer, type ServerOptions, startServer } from './server.ts';
