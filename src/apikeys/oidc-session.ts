import type { Logger } from 'pino';
import type { Store, User } from '../db/index.ts';
import { OIDC_LINKS, type Refresher, VaultError } from '../externalauth/index.ts';
import type { OidcLogin } from './oidc-login.ts';
import { ApiKeyValidationError } from './validate.ts';

// AK-6: a session made by OIDC sign-in is valid only while its OIDC link is. An expired
// link is refreshed (exactly once, through the vault's refresher) if it has a refresh
// token; a provider that issues none (Google without offline access) is not refreshed and
// the session simply runs to its own expiry; the refresh never extends the session key.
// A provider removed from configuration is never contacted: its sessions expire normally.

const KNOWN_GOOD_MS = 60_000;
const MAX_ENTRIES = 50_000;

export interface OidcSessionDeps {
  readonly login: OidcLogin;
  readonly refresher: Refresher;
  /** Bound to systemAuthn. */
  readonly store: Store;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class OidcSessionCheck {
  readonly #deps: OidcSessionDeps;
  // Users whose link was seen valid, until when it is worth trusting that without a query.
  readonly #good = new Map<string, number>();

  constructor(deps: OidcSessionDeps) {
    this.#deps = deps;
  }

  /** undefined when the session may go on; the refusal otherwise. Database failures throw. */
  async check(user: User): Promise<ApiKeyValidationError | undefined> {
    const now = (this.#deps.now ?? Date.now)();
    const good = this.#good.get(user.id);
    if (good !== undefined && good > now) return undefined;
    const link = await this.#deps.store.getOidcLinkByUser({ userId: user.id });
    if (!link) return refused('The sign-in this session came from is gone; sign in again.');
    const expiry = link.oauth_expiry?.getTime() ?? Number.POSITIVE_INFINITY;
    if (expiry > now) return this.#trust(user.id, Math.min(expiry, now + KNOWN_GOOD_MS));
    if (link.oauth_refresh_failure_reason !== '') {
      return refused('Your identity provider no longer accepts this sign-in; sign in again.');
    }
    // Removed from configuration, or never given a refresh token: nothing to refresh with.
    if (!this.#deps.login.enabled || link.oauth_refresh_token === '') return undefined;
    try {
      const provider = await this.#deps.login.provider();
      const fresh = await this.#deps.refresher.refreshLink(OIDC_LINKS, provider, user.id);
      const freshExpiry = fresh.oauth_expiry?.getTime() ?? Number.POSITIVE_INFINITY;
      return this.#trust(user.id, Math.min(freshExpiry, now + KNOWN_GOOD_MS));
    } catch (err) {
      if (err instanceof VaultError && (err.code === 'relink_required' || err.code === 'not_linked')) {
        return refused('Your identity provider no longer accepts this sign-in; sign in again.');
      }
      if (err instanceof VaultError) {
        // The provider is down or answering nonsense: not the user's fault, and signing
        // them out would not help. The next request tries again.
        this.#deps.logger.warn(
          { user_id: user.id, reason: err.reason },
          'OIDC link refresh failed; session kept',
        );
        return undefined;
      }
      throw err;
    }
  }

  /** Forget what is known of a user (their link changed: a new sign-in). */
  forget(userId: string): void {
    this.#good.delete(userId);
  }

  #trust(userId: string, until: number): undefined {
    if (this.#good.size >= MAX_ENTRIES) this.#good.clear();
    this.#good.set(userId, until);
    return undefined;
  }
}

function refused(message: string): ApiKeyValidationError {
  return new ApiKeyValidationError('session_link_invalid', message);
}
