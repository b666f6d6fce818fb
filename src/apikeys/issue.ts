import type { ApiKey, ApiKeyLoginType, Store } from '../db/index.ts';
import { generateKey } from './token.ts';

export interface IssueKeyInput {
  readonly userId: string;
  readonly name: string;
  readonly loginType: ApiKeyLoginType;
  readonly scopes: readonly string[];
  readonly allowList: readonly string[];
  readonly lifetimeMs: number;
  readonly now: Date;
}

export interface IssuedKey {
  readonly row: ApiKey;
  /** The whole key: shown once, never stored. */
  readonly token: string;
}

/** Mints a key and stores its hash; `store` decides whether the caller may. */
export async function issueKey(store: Store, input: IssueKeyInput): Promise<IssuedKey> {
  const key = generateKey();
  const row = await store.insertApiKey({
    id: key.id,
    hashedSecret: key.hashedSecret,
    userId: input.userId,
    name: input.name,
    loginType: input.loginType,
    scopes: input.scopes,
    allowList: input.allowList,
    lifetimeSeconds: Math.max(1, Math.round(input.lifetimeMs / 1000)),
    expiresAt: new Date(input.now.getTime() + input.lifetimeMs),
  });
  return { row, token: key.token };
}
