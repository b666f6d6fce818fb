// Encryption at rest (DC): the public surface of dbcrypt.
export {
  DIGEST_HEX,
  digestOf,
  ENCRYPTED_LIKE,
  type EncryptionKey,
  encryptionKey,
  FORMAT_PREFIX,
  isDigest,
  isEncrypted,
  keyDigest,
  likeKey,
  open as openValue,
  seal as sealValue,
} from './cipher.ts';
export { TableCodec } from './codec.ts';
export {
  ENCRYPTED_TABLES,
  type EncryptedTable,
  PLAIN_COLUMNS,
  type PlainColumn,
  SECRET_NAME,
} from './columns.ts';
export {
  DBCRYPT_ERROR_CODES,
  DBCRYPT_REFUSALS,
  DbcryptError,
  type DbcryptErrorCode,
  DbcryptRefusal,
  type DbcryptRefusalCode,
} from './errors.ts';
export { Keyring } from './keyring.ts';
export {
  type DbcryptCommand,
  type Progress,
  type RewriteOptions,
  type RewriteResult,
  runDbcrypt,
} from './rewrite.ts';
export { checkEncryptionKeys, digestsInUse, type KeyCheck } from './startup.ts';
export { dbcryptStore } from './store.ts';
