import { escapeHtml, page } from './html.ts';

export interface LoginPageInput {
  readonly redirect: string;
  /** The form's CSRF token (see src/http/routes/login-csrf.ts). */
  readonly csrfToken: string;
  readonly email?: string;
  readonly error?: string;
  /** Label of the OIDC sign-in button, when OIDC sign-in is configured. */
  readonly oidcText?: string | undefined;
  /** Signed in already, but the app asked the user to sign in again (prompt=login). */
  readonly again?: boolean;
}

/** The sign-in form: plain HTML, works without JavaScript. */
export function loginPage(input: LoginPageInput): string {
  const error = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : '';
  const oidc = input.oidcText
    ? `<p><a class="button" href="/login/oidc?redirect=${escapeHtml(encodeURIComponent(input.redirect))}">${escapeHtml(input.oidcText)}</a></p>`
    : '';
  const again = input.again
    ? '<p class="notice" role="status">The app asks you to sign in again before it continues.</p>'
    : '';
  return page(
    'Sign in',
    `<h1>Sign in to Latchkey</h1>
${again}${error}
${oidc}
<form method="post" action="/login">
  <input type="hidden" name="redirect" value="${escapeHtml(input.redirect)}">
  <input type="hidden" name="csrf_token" value="${escapeHtml(input.csrfToken)}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(input.email ?? '')}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>`,
  );
}

/** The landing page after signing in. */
export function homePage(username: string): string {
  return page(
    'Home',
    `<h1>Signed in as ${escapeHtml(username)}</h1>
<p><a href="/settings/external-auth">External accounts</a></p>
<p><a href="/settings/apps">Authorized apps</a></p>
<form method="post" action="/logout">
  <button type="submit">Sign out</button>
</form>`,
  );
}

/**
 * Where to send someone after signing in: a path on this server, or `/`. Anything that a
 * browser could read as another origin (`//evil`, `/\\evil`, `https://evil`) is refused:
 * an open redirect on a login page is a phishing tool.
 */
export function safeRedirect(value: unknown, accessUrl: string): string {
  if (
    typeof value !== 'string' ||
    !value.startsWith('/') ||
    value.startsWith('//') ||
    value.startsWith('/\\')
  )
    return '/';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (/[\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const origin = new URL(accessUrl).origin;
    const target = new URL(value, origin);
    return target.origin === origin ? `${target.pathname}${target.search}${target.hash}` : '/';
  } catch {
    return '/';
  }
}
