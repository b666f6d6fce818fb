export { findUserKey } from './find.ts';
export { type IssuedKey, type IssueKeyInput, issueKey } from './issue.ts';
export { KEYS_CHANNEL, KeyCache } from './key-cache.ts';
export { type ClaimMapping, mapClaims, usernameFrom } from './oidc-claims.ts';
export {
  OIDC_CALLBACK_PATH,
  OIDC_LOGIN_ERRORS,
  type OidcFlow,
  OidcLogin,
  type OidcLoginDeps,
  OidcLoginError,
  type OidcLoginErrorCode,
} from './oidc-login.ts';
export { OidcSessionCheck, type OidcSessionDeps } from './oidc-session.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export {
  CANONICAL_SCOPES,
  type CanonicalScope,
  DEFAULT_SCOPES,
  parseScopes,
  publicScopes,
  type ScopesResult,
} from './scopes.ts';
export {
  deriveKey,
  generateKey,
  hashSecret,
  KEY_ID_PATTERN,
  KEY_NAME_PATTERN,
  KEY_PATTERN,
  KEY_PREFIX,
  type NewKey,
  type ParsedKey,
  parseKey,
  secretMatches,
} from './token.ts';
export {
  ApiKeyValidationError,
  cachedLookup,
  type JwtKeyIds,
  type KeyLookup,
  storeLookup,
  VALIDATION_CODES,
  type ValidateDeps,
  type ValidationCode,
  type ValidKey,
  validateApiKey,
} from './validate.ts';
