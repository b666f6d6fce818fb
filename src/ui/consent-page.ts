import { escapeHtml, PAGE_CSP, page } from './html.ts';

export interface ConsentPageInput {
  /** The app's name (its client_id when it has none). */
  readonly clientName: string;
  /** Where the app receives the answer: shown as its host so the user sees who gets it. */
  readonly redirectUri: string;
  /** Whether an admin created the app (others registered themselves and are unverified). */
  readonly verified: boolean;
  readonly username: string;
  /** What the negotiated scope allows, in words. */
  readonly scopes: ReadonlyArray<{ name: string; description: string }>;
  /** The resource server the access is for, when it is not Latchkey itself. */
  readonly otherResource: string | undefined;
  /** The authorization request's parameters, re-posted with the decision. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  readonly csrfToken: string;
}

/** The host (or, for an app's own scheme, the scheme) a redirect URI sends the answer to. */
export function redirectTarget(redirectUri: string): string {
  try {
    const url = new URL(redirectUri);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : url.protocol;
  } catch {
    return redirectUri;
  }
}

/**
 * The page CSP, with the consent form also allowed to end at the app's redirect URI:
 * browsers apply form-action to the redirect that answers the form, and the answer to
 * "Allow" is a redirect to the app.
 */
export function consentPageCsp(redirectUri: string): string {
  let target = '';
  try {
    const url = new URL(redirectUri);
    target = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
  } catch {
    // Unparseable URIs never get this far (the request was validated); allow nothing more.
  }
  // A CSP source cannot contain spaces, quotes or semicolons; anything else is dropped.
  const source = /^[A-Za-z0-9+.:/[\]-]+$/.test(target) ? ` ${target}` : '';
  return PAGE_CSP.replace("form-action 'self'", `form-action 'self'${source}`);
}

/** The consent page (OA-3): who asks, where the answer goes, what for; "Allow" or "Deny". */
export function consentPage(input: ConsentPageInput): string {
  const name = escapeHtml(input.clientName);
  const hidden = input.fields
    .map(([k, v]) => `  <input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n');
  const scopes = input.scopes
    .map((s) => `  <li><strong>${escapeHtml(s.description)}</strong> <code>${escapeHtml(s.name)}</code></li>`)
    .join('\n');
  const unverified = input.verified
    ? ''
    : `<p class="warning">Latchkey has not verified this app: it registered itself. Allow it only if you just asked it to connect.</p>\n`;
  const resource = input.otherResource
    ? `<p>The access is for <strong>${escapeHtml(input.otherResource)}</strong>.</p>\n`
    : '';
  return page(
    'Authorize app',
    `<h1>Allow ${name} to use your account?</h1>
<p>You are signed in as <strong>${escapeHtml(input.username)}</strong>. <strong>${name}</strong> will receive access at <strong>${escapeHtml(redirectTarget(input.redirectUri))}</strong>.</p>
${unverified}${resource}<p>It asks to:</p>
<ul>
${scopes}
</ul>
<form method="post" action="/oauth2/authorize">
${hidden}
  <input type="hidden" name="csrf_token" value="${escapeHtml(input.csrfToken)}">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

/** An authorization request that cannot be answered to the app (bad client or redirect URI). */
export function authorizeErrorPage(message: string): string {
  return page(
    'Cannot authorize',
    `<h1>This app cannot be authorized</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>
<p>Go back to the app and try connecting again. If this keeps happening, tell whoever runs the app.</p>`,
  );
}
