import { hashPassword } from '../../src/apikeys/index.ts';
import {
  type AuthzStore,
  authorizingStore,
  resolveSubject,
  type Subject,
  systemActors,
} from '../../src/authz/index.ts';
import { createStore, type DatabaseHandle, openDatabase, type Store, type User } from '../../src/db/index.ts';
import { dbcryptStore, Keyring } from '../../src/dbcrypt/index.ts';
import { createLogger, Metrics } from '../../src/observability/index.ts';
import { testEncryptionKeys } from './encryption.ts';

export interface StoreKit {
  readonly handle: DatabaseHandle;
  /** No authorization; through dbcrypt with the test's keys, so it reads and writes plaintext. */
  readonly raw: Store;
  readonly keyring: Keyring;
  readonly authz: AuthzStore;
  /** Creates a user (and default-org membership) directly, bypassing authorization. */
  user(
    name: string,
    options?: { siteRoles?: string[]; orgRoles?: string[]; isSystem?: boolean; password?: string },
  ): Promise<User>;
  /** The Subject for a user, as authentication would build it. */
  subject(user: User): Promise<Subject>;
  close(): Promise<void>;
}

export function storeKit(
  url: string,
  options: { encryptionKeys?: readonly Buffer[] | undefined } = {},
): StoreKit {
  const handle = openDatabase({
    url,
    poolMax: 4,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger('silent'),
  });
  const keyring = Keyring.from(options.encryptionKeys ?? testEncryptionKeys());
  const raw = dbcryptStore(createStore(handle.db, handle.inTx), keyring);
  const authz = authorizingStore(raw);
  return {
    handle,
    raw,
    keyring,
    authz,
    async user(name, options = {}) {
      const user = await raw.insertUser({
        email: `${name}@example.com`,
        username: name,
        siteRoles: options.siteRoles ?? [],
        isSystem: options.isSystem ?? false,
        ...(options.password === undefined ? {} : { hashedPassword: await hashPassword(options.password) }),
      });
      if (!options.isSystem) {
        const org = await raw.getDefaultOrganization();
        await raw.insertOrganizationMember({
          organizationId: org.id,
          userId: user.id,
          roles: options.orgRoles ?? [],
        });
      }
      return user;
    },
    async subject(user) {
      const fresh = (await raw.getUserById({ id: user.id })) ?? user;
      return resolveSubject(authz.as(systemActors.systemAuthn), fresh);
    },
    close: () => handle.close(),
  };
}
