import { escapeHtml, page } from './html.ts';

/**
 * The answer of a rate-limited page route (the authorization endpoint): a page for the
 * person in the browser, not a redirect to the app, whose redirect URI may not have been
 * checked yet when the limit refuses the request.
 */
export function rateLimitedPage(retryAfterSeconds: number, detail: string): string {
  return page(
    'Too many requests',
    `<h1>Too many requests</h1>
<p class="error" role="alert">${escapeHtml(detail)}</p>
<p>Wait ${escapeHtml(String(retryAfterSeconds))} seconds, then go back to the app and try connecting again.</p>`,
  );
}
