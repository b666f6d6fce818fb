import { type Kysely, sql } from 'kysely';
import type { ApiKey, ApiKeyLoginType, Database } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import { applyFilter, type RowFilter } from './filter.ts';

export interface InsertApiKeyArgs {
  readonly id: string;
  readonly hashedSecret: Buffer;
  readonly userId: string;
  readonly name: string;
  readonly loginType: ApiKeyLoginType;
  readonly scopes: readonly string[];
  readonly allowList: readonly string[];
  readonly lifetimeSeconds: number;
  readonly expiresAt: Date;
}

export interface ApiKeysStore {
  getApiKeyById(arg: { id: string }): Promise<ApiKey | undefined>;
  getApiKeyByName(arg: { userId: string; name: string }): Promise<ApiKey | undefined>;
  listApiKeysOfUser(
    arg: { userId: string; loginType?: ApiKeyLoginType | undefined },
    filter?: RowFilter,
  ): Promise<ApiKey[]>;
  insertApiKey(arg: InsertApiKeyArgs): Promise<ApiKey>;
  /** Records use, at most once a minute per key: returns whether a row was written. */
  updateApiKeyLastUsed(arg: { id: string; now: Date }): Promise<boolean>;
  updateApiKeyExpiry(arg: { id: string; expiresAt: Date }): Promise<void>;
  deleteApiKey(arg: { id: string }): Promise<void>;
  deleteExpiredApiKeys(arg: { before: Date }): Promise<number>;
}

export function apiKeysStore(db: Kysely<Database>): ApiKeysStore {
  return {
    getApiKeyById: ({ id }) => db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst(),
    getApiKeyByName: ({ userId, name }) =>
      db
        .selectFrom('api_keys')
        .selectAll()
        .where('user_id', '=', userId)
        .where('name', '=', name)
        .where('login_type', '=', 'token')
        .executeTakeFirst(),
    listApiKeysOfUser: ({ userId, loginType }, filter) => {
      let q = db.selectFrom('api_keys').selectAll().where('user_id', '=', userId);
      if (loginType) q = q.where('login_type', '=', loginType);
      if (filter)
        q = q.where((eb) => applyFilter(eb, filter, { id: 'api_keys.id', owner: 'api_keys.user_id' }));
      return q.orderBy('created_at').execute();
    },
    insertApiKey: (arg) =>
      db
        .insertInto('api_keys')
        .values({
          id: arg.id,
          hashed_secret: arg.hashedSecret,
          user_id: arg.userId,
          name: arg.name,
          login_type: arg.loginType,
          scopes: [...arg.scopes],
          allow_list: [...arg.allowList],
          lifetime_seconds: arg.lifetimeSeconds,
          expires_at: arg.expiresAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('api_keys')),
    updateApiKeyLastUsed: async ({ id, now }) => {
      // The condition lives in SQL so replicas racing on one key write it once a minute.
      const result = await db
        .updateTable('api_keys')
        .set({ last_used: now })
        .where('id', '=', id)
        .where('last_used', '<', sql<Date>`${now}::timestamptz - interval '1 minute'`)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    updateApiKeyExpiry: async ({ id, expiresAt }) => {
      await db
        .updateTable('api_keys')
        .set({ expires_at: expiresAt, updated_at: sql`now()` })
        .where('id', '=', id)
        .execute();
    },
    deleteApiKey: async ({ id }) => {
      await db.deleteFrom('api_keys').where('id', '=', id).execute();
    },
    deleteExpiredApiKeys: async ({ before }) => {
      const result = await db.deleteFrom('api_keys').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
