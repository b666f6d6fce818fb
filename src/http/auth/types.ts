import type { Subject } from '../../authz/index.ts';
import type { ApiKeyLoginType, User } from '../../db/index.ts';
import type { TokenSource } from './token-source.ts';

/** Who a request is, once authenticated. */
export interface AuthOutcome {
  readonly subject: Subject;
  readonly userId: string;
  /**
   * The caller's row as validation saw it (from the key cache, which every replica drops
   * when the user changes), so `me` needs no query.
   */
  readonly user: User;
  /** Undefined only for test authenticators. */
  readonly apiKeyId: string | undefined;
  readonly source: TokenSource | 'test';
  readonly loginType: ApiKeyLoginType | undefined;
}
