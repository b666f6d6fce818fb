import { type Kysely, sql } from 'kysely';
import type { Database, OAuth2SigningKey, OAuth2SigningKeysTable } from '../schema.ts';

export interface InsertOAuth2SigningKeyArgs {
  readonly kid: string;
  readonly generation: number;
  readonly alg: OAuth2SigningKeysTable['alg'];
  readonly publicJwk: Readonly<Record<string, unknown>>;
  readonly privateJwk: string;
  readonly activatesAt: Date;
}

export interface OAuth2SigningKeysStore {
  /** Every signing key, oldest generation first. */
  listOAuth2SigningKeys(): Promise<OAuth2SigningKey[]>;
  /**
   * Adds the key of one generation; false when another replica added that generation
   * first (the caller then reads the keys again and uses theirs).
   */
  insertOAuth2SigningKey(arg: InsertOAuth2SigningKeyArgs): Promise<boolean>;
  /**
   * Deletes the keys that stopped signing before `retiredBefore` (a later generation was
   * active by then); the newest key is never deleted. Returns how many.
   */
  deleteRetiredOAuth2SigningKeys(arg: { retiredBefore: Date }): Promise<number>;
}

export function oauth2SigningKeysStore(db: Kysely<Database>): OAuth2SigningKeysStore {
  return {
    listOAuth2SigningKeys: () =>
      db.selectFrom('oauth2_signing_keys').selectAll().orderBy('generation').execute(),
    insertOAuth2SigningKey: async (arg) => {
      const rows = await db
        .insertInto('oauth2_signing_keys')
        .values({
          kid: arg.kid,
          generation: arg.generation,
          alg: arg.alg,
          public_jwk: JSON.stringify(arg.publicJwk),
          private_jwk: arg.privateJwk,
          activates_at: arg.activatesAt,
        })
        .onConflict((oc) => oc.doNothing())
        .returning('kid')
        .execute();
      return rows.length === 1;
    },
    deleteRetiredOAuth2SigningKeys: async ({ retiredBefore }) => {
      const result = await db
        .deleteFrom('oauth2_signing_keys as k')
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('oauth2_signing_keys as n')
              .select(sql`1`.as('one'))
              .whereRef('n.generation', '>', 'k.generation')
              .where('n.activates_at', '<', retiredBefore),
          ),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
