export {
  CANONICAL_SCOPES,
  type CanonicalScope,
  DEFAULT_SCOPES,
  parseScopes,
  publicScopes,
  type ScopesResult,
} from './scopes.ts';
export {
  generateKey,
  hashSecret,
  KEY_PATTERN,
  KEY_PREFIX,
  type NewKey,
  type ParsedKey,
  parseKey,
  secretMatches,
} from './token.ts';
export {
  ApiKeyValidationError,
  VALIDATION_CODES,
  type ValidateDeps,
  type ValidationCode,
  type ValidKey,
  validateApiKey,
} from './validate.ts';
