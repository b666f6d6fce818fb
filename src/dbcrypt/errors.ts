// Errors are values with a code (CONVENTIONS): the HTTP layer maps DbcryptError to a 500
// naming the problem, the CLI prints DbcryptRefusal and exits 1.

export const DBCRYPT_ERROR_CODES = ['key_missing', 'tampered', 'malformed'] as const;
export type DbcryptErrorCode = (typeof DBCRYPT_ERROR_CODES)[number];

/**
 * A stored value that cannot be decrypted. It is never handed out as it is (that would
 * pass ciphertext off as a token) and never crashes the process: it fails the one request
 * or row that needs it. No plaintext or ciphertext is ever put in the message.
 */
export class DbcryptError extends Error {
  readonly code: DbcryptErrorCode;
  /** `table.column` of the value. */
  readonly where: string;
  /** Digest of the key the value names, when it names one. */
  readonly digest: string | undefined;

  constructor(code: DbcryptErrorCode, where: string, digest?: string) {
    super(describe(code, where, digest));
    this.name = 'DbcryptError';
    this.code = code;
    this.where = where;
    this.digest = digest;
  }
}

function describe(code: DbcryptErrorCode, where: string, digest: string | undefined): string {
  switch (code) {
    case 'key_missing':
      return `${where} is encrypted with key ${digest}, which is not in LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS`;
    case 'tampered':
      return `${where} failed authentication with key ${digest}: the value was altered, or copied from another row or column`;
    case 'malformed':
      return `${where} is marked as encrypted but is not a well-formed encrypted value`;
  }
}

export const DBCRYPT_REFUSALS = [
  'key_missing',
  'key_revoked',
  'primary_revoked',
  'undecryptable',
  'still_written',
] as const;
export type DbcryptRefusalCode = (typeof DBCRYPT_REFUSALS)[number];

/**
 * Why a server will not start, or a dbcrypt command will not begin: the message names the
 * key digest and what to do. Nothing has been changed when it is thrown.
 */
export class DbcryptRefusal extends Error {
  readonly code: DbcryptRefusalCode;
  readonly digests: readonly string[];
  constructor(code: DbcryptRefusalCode, digests: readonly string[], message: string) {
    super(message);
    this.name = 'DbcryptRefusal';
    this.code = code;
    this.digests = digests;
  }
}
