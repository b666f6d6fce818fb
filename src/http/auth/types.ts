import type { Subject } from '../../authz/index.ts';
import type { ApiKeyLoginType } from '../../db/index.ts';
import type { TokenSource } from './token-source.ts';

/** Who a request is, once authenticated. */
export interface AuthOutcome {
  readonly subject: Subject;
  readonly userId: string;
  /** Undefined only for test authenticators. */
  readonly apiKeyId: string | undefined;
  readonly source: TokenSource | 'test';
  readonly loginType: ApiKeyLoginType | undefined;
}
