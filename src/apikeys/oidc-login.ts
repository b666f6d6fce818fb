import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { type AuthzStore, systemActors } from '../authz/index.ts';
import type { Config } from '../config/index.ts';
import type { LinkTokens, OidcClaims, User } from '../db/index.ts';
import type { ConfiguredProvider } from '../externalauth/index.ts';
import { createUser, IdentityError } from '../identity/index.ts';
import { issueKey } from './issue.ts';
import { mapClaims, usernameFrom } from './oidc-claims.ts';

// Signing in with an OpenID Connect provider (AK-1, AK-6). openid-client does the protocol
// (discovery, PKCE, state and nonce checks, ID-token validation); this module decides who
// the person is in Latchkey and mints their session.

export const OIDC_LOGIN_ERRORS = ['not_configured', 'failed', 'no_account', 'conflict', 'suspended'] as const;
export type OidcLoginErrorCode = (typeof OIDC_LOGIN_ERRORS)[number];

export class OidcLoginError extends Error {
  readonly code: OidcLoginErrorCode;
  constructor(code: OidcLoginErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OidcLoginError';
    this.code = code;
  }
}

/** What the browser keeps between the redirect out and the callback (an HttpOnly cookie). */
export interface OidcFlow {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly returnTo: string;
}

export interface OidcLoginDeps {
  readonly config: Pick<
    Config,
    | 'accessUrl'
    | 'oidcIssuerUrl'
    | 'oidcClientId'
    | 'oidcClientSecret'
    | 'oidcScopes'
    | 'oidcUsernameClaim'
    | 'oidcEmailClaim'
    | 'oidcAllowSignups'
    | 'oidcAuthUrlParams'
    | 'sessionDuration'
  >;
  readonly authz: AuthzStore;
  readonly logger: Logger;
  /** Allow an http:// issuer (tests with a fake provider). */
  readonly allowInsecureIssuer?: boolean;
  readonly clock?: () => Date;
}

export const OIDC_CALLBACK_PATH = '/login/oidc/callback';

/**
 * OIDC sign-in for one server. Discovery happens on first use and is retried after a
 * failure, so an identity provider that is down does not keep Latchkey from starting.
 */
export class OidcLogin {
  readonly #deps: OidcLoginDeps;
  #discovered: Promise<oidc.Configuration> | undefined;

  constructor(deps: OidcLoginDeps) {
    this.#deps = deps;
  }

  get enabled(): boolean {
    return this.#deps.config.oidcIssuerUrl !== undefined && this.#deps.config.oidcClientId !== undefined;
  }

  get #redirectUri(): string {
    return `${this.#deps.config.accessUrl}${OIDC_CALLBACK_PATH}`;
  }

  /** The provider's endpoints as the refresher needs them (AK-6), once discovered. */
  async provider(): Promise<ConfiguredProvider> {
    const configuration = await this.#configuration();
    const meta = configuration.serverMetadata();
    const c = this.#deps.config;
    return {
      id: 'oidc-login',
      type: 'oidc',
      displayName: 'OIDC sign-in',
      icon: '',
      clientId: c.oidcClientId ?? '',
      clientSecret: c.oidcClientSecret ?? '',
      authUrl: meta.authorization_endpoint ?? '',
      tokenUrl: meta.token_endpoint ?? '',
      // Refreshed tokens are not validated against userinfo: sign-in links carry no API use.
      validateUrl: undefined,
      revokeUrl: meta.revocation_endpoint,
      revokeStyle: meta.revocation_endpoint ? 'rfc7009' : 'none',
      scopes: c.oidcScopes,
      extraTokenKeys: [],
      deviceFlow: false,
      deviceCodeUrl: undefined,
      pkce: true,
      authUrlParams: {},
      noRefresh: false,
      apiBaseUrl: undefined,
      regex: undefined,
      issuerUrl: c.oidcIssuerUrl,
    };
  }

  /** Starts sign-in: the URL to send the browser to, and what to remember until it returns. */
  async start(returnTo: string): Promise<{ url: URL; flow: OidcFlow }> {
    const configuration = await this.#configuration();
    const flow: OidcFlow = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo,
    };
    const url = oidc.buildAuthorizationUrl(configuration, {
      ...this.#deps.config.oidcAuthUrlParams,
      redirect_uri: this.#redirectUri,
      scope: this.#deps.config.oidcScopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url, flow };
  }

  /**
   * Finishes sign-in from the provider's redirect: checks it against the flow the browser
   * kept, finds or creates the user, records the link and mints a session key.
   */
  async finish(callbackQuery: string, flow: OidcFlow): Promise<{ token: string; user: User }> {
    const configuration = await this.#configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        configuration,
        new URL(`${this.#redirectUri}?${callbackQuery}`),
        {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        },
      );
    } catch (err) {
      // The details (state mismatch, provider error, bad ID token) go to the log; the
      // person gets one clear message and a fresh start.
      this.#deps.logger.warn({ err: (err as Error).message }, 'OIDC sign-in refused');
      throw new OidcLoginError(
        'failed',
        'Signing in with your identity provider did not work; please try again.',
        {
          cause: err,
        },
      );
    }
    const raw = tokens.claims();
    if (!raw) throw new OidcLoginError('failed', 'The identity provider sent no ID token.');
    const issuer = configuration.serverMetadata().issuer;
    const claims = mapClaims(raw, {
      usernameClaim: this.#deps.config.oidcUsernameClaim,
      emailClaim: this.#deps.config.oidcEmailClaim,
    });
    const user = await this.#userFor(issuer, raw.sub, claims);
    const now = (this.#deps.clock ?? (() => new Date()))();
    const expiresIn = tokens.expiresIn();
    const linkTokens: LinkTokens = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? '',
      expiry: expiresIn === undefined ? null : new Date(now.getTime() + expiresIn * 1000),
      issuedAt: now,
      extra: {},
    };
    const sessions = this.#deps.authz.as(systemActors.systemSessions);
    await sessions.upsertOidcLink({ userId: user.id, issuer, subject: raw.sub, tokens: linkTokens, claims });
    const issued = await issueKey(sessions, {
      userId: user.id,
      name: '',
      loginType: 'oidc',
      scopes: ['latchkey:all'],
      allowList: ['*:*'],
      lifetimeMs: this.#deps.config.sessionDuration,
      now,
    });
    return { token: issued.token, user };
  }

  /**
   * Who signed in: the user already linked to this (issuer, subject); else the user with
   * this email, only if the provider verified it (an unverified address would let anyone
   * claim an account by typing its email at their provider); else a new user when
   * sign-ups are allowed.
   */
  async #userFor(issuer: string, subject: string, claims: OidcClaims): Promise<User> {
    const authn = this.#deps.authz.as(systemActors.systemAuthn);
    const sessions = this.#deps.authz.as(systemActors.systemSessions);
    const link = await sessions.getOidcLinkBySubject({ issuer, subject });
    let user: User | undefined;
    if (link) {
      user = await authn.getUserById({ id: link.user_id });
      if (!user) throw new OidcLoginError('no_account', 'This account was deleted.');
    } else if (claims.email !== '') {
      user = await authn.getUserByEmail({ email: claims.email });
      if (user && !claims.email_verified) {
        throw new OidcLoginError(
          'conflict',
          'An account with this email exists, but your identity provider has not verified the address.',
        );
      }
    }
    if (!user) user = await this.#signUp(claims);
    if (user.status === 'suspended') throw new OidcLoginError('suspended', 'The account is suspended.');
    return user;
  }

  async #signUp(claims: OidcClaims): Promise<User> {
    if (!this.#deps.config.oidcAllowSignups) {
      throw new OidcLoginError(
        'no_account',
        'There is no account for you here; ask an administrator to create one.',
      );
    }
    if (claims.email === '') {
      throw new OidcLoginError('failed', 'Your identity provider did not share an email address.');
    }
    const base = usernameFrom(claims);
    const store = this.#deps.authz.as(systemActors.systemBootstrap);
    // A taken username gets a numeric suffix; a taken email cannot happen here (matched above).
    for (let attempt = 0; attempt < 20; attempt++) {
      const username = attempt === 0 ? base : `${base.slice(0, 58)}-${attempt + 1}`;
      try {
        return await createUser(store, {
          email: claims.email,
          username,
          name: claims.name,
          loginType: 'oidc',
        });
      } catch (err) {
        if (!(err instanceof IdentityError) || err.kind !== 'conflict') throw err;
      }
    }
    throw new OidcLoginError('conflict', 'Could not find a free username for your account.');
  }

  #configuration(): Promise<oidc.Configuration> {
    const c = this.#deps.config;
    if (c.oidcIssuerUrl === undefined || c.oidcClientId === undefined) {
      return Promise.reject(new OidcLoginError('not_configured', 'OIDC sign-in is not configured.'));
    }
    if (!this.#discovered) {
      const secret = c.oidcClientSecret ?? '';
      const discovering = oidc.discovery(
        new URL(c.oidcIssuerUrl),
        c.oidcClientId,
        secret === '' ? undefined : secret,
        secret === '' ? oidc.None() : undefined,
        this.#deps.allowInsecureIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
      this.#discovered = discovering;
      discovering.catch((err: unknown) => {
        this.#discovered = undefined;
        this.#deps.logger.warn({ err: (err as Error).message }, 'OIDC discovery failed; will retry');
      });
    }
    return this.#discovered.catch((err: unknown) => {
      throw new OidcLoginError(
        'failed',
        'The identity provider cannot be reached; please try again shortly.',
        {
          cause: err,
        },
      );
    });
  }
}
