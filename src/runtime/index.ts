export { type ResolvedDatabase, resolveDatabase } from './database.ts';
export { AddressInUseError, type RunningServer, type ServerOptions, startServer } from './server.ts';
