export { ApiError, type ErrorBody, errorBody } from './api-error.ts';
export { type AppDeps, buildApp } from './app.ts';
export { markDraining } from './drain.ts';
