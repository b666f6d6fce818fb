export {
  type AuthorizationCheck,
  type AuthorizationRequest,
  type AuthorizeDeps,
  CODE_LIFETIME_SECONDS,
  checkAuthorization,
  deniedRedirect,
  issueCode,
  matchRedirectUri,
} from './authorize.ts';
export { authenticateClient, type ClientAuthDeps } from './client-auth.ts';
export { APPS_CHANNEL, ClientCache } from './client-cache.ts';
export {
  type ClientMetadata,
  classifyRedirectUri,
  clientMetadataJson,
  parseClientMetadata,
  parseScope,
  REGISTRABLE_GRANT_TYPES,
  type RedirectKind,
} from './client-metadata.ts';
export {
  ClientMetadataDocuments,
  cacheLifetimeMs,
  clientIdUrlProblem,
  DocumentError,
  type DocumentOptions,
} from './client-metadata-document.ts';
export { type ClientDeps, isMetadataDocumentClientId, resolveClient } from './clients.ts';
export {
  CONSENT_TOKEN_TTL_MS,
  consentToken,
  hasConsent,
  recordConsent,
  verifyConsentToken,
} from './consent.ts';
export { OAuthError } from './errors.ts';
export type { GrantDeps, OAuth2Settings, TokenResponse } from './grants/tokens.ts';
export { type Introspection, type IntrospectionDeps, introspectToken } from './introspect.ts';
export {
  ACCESS_TOKEN_TYP,
  type AccessTokenClaims,
  JwtAccessTokens,
  type JwtKeyId,
  type JwtResources,
  looksLikeJwt,
} from './jwt-access-tokens.ts';
export {
  authorizationServerMetadata,
  oauthEndpoints,
  PROTECTED_PATHS,
  protectedResourceMetadata,
  resourceMetadataUrl,
  wellKnownDocument,
} from './metadata.ts';
export { OAuthParams } from './params.ts';
export { isPkceText, s256, verifyPkce } from './pkce.ts';
export {
  deleteRegistration,
  newClientId,
  type RegistrationDeps,
  readRegistration,
  registerClient,
  updateRegistration,
} from './registration.ts';
export { isAcceptableResource, isOwnAudience, isWithin, normaliseResource, ownResource } from './resource.ts';
export { type RevocationDeps, revokeToken } from './revoke.ts';
export {
  apiScopes,
  describeScope,
  FULL_ACCESS,
  isUnrestricted,
  narrowScope,
  negotiateScope,
  OFFLINE_ACCESS,
  scopeCovers,
} from './scopes.ts';
export { PROTOCOL_SCOPES, scopesSupported, supportedScopeNames } from './scopes-supported.ts';
export {
  CLIENT_SECRET_PREFIX,
  hashClientSecret,
  type NewSecret,
  newClientSecret,
  newRegistrationAccessToken,
  REGISTRATION_TOKEN_PREFIX,
  sameHash,
} from './secrets.ts';
export {
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  RETIRED_KEY_RETENTION_MS,
  type SigningKey,
  type SigningKeyOptions,
  SigningKeys,
} from './signing-keys.ts';
export {
  type AddressClass,
  classifyAddress,
  guardedResolve,
  type ResolvedAddress,
  type Resolver,
  SsrfError,
  systemResolver,
} from './ssrf-guard.ts';
export { handleTokenRequest } from './token.ts';
export * from './types.ts';
