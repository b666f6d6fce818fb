export { ApiError, type ErrorBody, errorBody } from './api-error.ts';
export { type AppDeps, buildApp } from './app.ts';
export {
  AUTHZ_DEBUG_HEADER,
  type AuthContext,
  type Authenticator,
  defaultAuthenticator,
  hasOwnerPrivileges,
  optionalAuth,
  requireAuth,
  storeFor,
} from './auth/actor.ts';
export { keyAuthenticator } from './auth/api-key.ts';
export type { AuthOutcome } from './auth/types.ts';
export { markDraining } from './drain.ts';
