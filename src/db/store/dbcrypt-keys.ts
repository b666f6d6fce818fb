import { type Kysely, sql } from 'kysely';
import type { Database, DbcryptKey } from '../schema.ts';

export interface DbcryptKeysStore {
  listDbcryptKeys(): Promise<DbcryptKey[]>;
  /** Records a key as active; a key already recorded (active or revoked) is left as it is. */
  insertDbcryptKey(arg: { digest: string }): Promise<void>;
  /** Marks keys revoked; returns the digests that were active until now. */
  revokeDbcryptKeys(arg: { digests: readonly string[] }): Promise<string[]>;
}

export function dbcryptKeysStore(db: Kysely<Database>): DbcryptKeysStore {
  return {
    listDbcryptKeys: () => db.selectFrom('dbcrypt_keys').selectAll().orderBy('created_at').execute(),
    insertDbcryptKey: async ({ digest }) => {
      await db
        .insertInto('dbcrypt_keys')
        .values({ digest })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
    },
    revokeDbcryptKeys: async ({ digests }) => {
      if (digests.length === 0) return [];
      const rows = await db
        .updateTable('dbcrypt_keys')
        .set({ status: 'revoked', revoked_at: sql`now()` })
        .where('digest', 'in', [...digests])
        .where('status', '=', 'active')
        .returning('digest')
        .execute();
      return rows.map((r) => r.digest);
    },
  };
}
