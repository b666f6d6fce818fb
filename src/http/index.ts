export { ApiError, type ErrorBody, errorBody } from './api-error.ts';
export { type AppDeps, buildApp } from './app.ts';
export {
  AUTHZ_DEBUG_HEADER,
  type AuthContext,
  type Authenticator,
  requireAuth,
  storeFor,
} from './auth/actor.ts';
export { markDraining } from './drain.ts';
