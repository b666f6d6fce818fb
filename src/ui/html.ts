const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/**
 * Pages have no inline script or style, so the policy can forbid both: an injected tag
 * would not run. `frame-ancestors 'none'` stops clickjacking of forms.
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The headers every page is sent with: its CSP, no framing, never cached (pages show the
 * user's state). `no-referrer` for the sign-in and authorization pages, whose URLs carry
 * the authorization request (state, PKCE challenge) and must not leak to where the user
 * goes next; browsers then post their forms with `Origin: null`, so those forms carry a
 * CSRF token of their own. The other pages keep `same-origin`, so that their forms arrive
 * with this origin and the Origin check alone protects them.
 */
export function pageHeaders(
  referrerPolicy: 'no-referrer' | 'same-origin',
  csp: string = PAGE_CSP,
): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-frame-options': 'DENY',
    'referrer-policy': referrerPolicy,
    'cache-control': 'no-store',
    'content-type': 'text/html; charset=utf-8',
  };
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Latchkey</title>
<link rel="stylesheet" href="/ui/latchkey.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
