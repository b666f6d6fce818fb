import { redirectTarget } from './consent-page.ts';
import { duration } from './external-auth-page.ts';
import { escapeHtml, page } from './html.ts';

// The authorized apps page (/settings/apps): each OAuth app the user allowed, with where
// it receives access, what it may do (in words) and since when, and a "Revoke" button.
// App names come from whoever registered the app: untrusted text, escaped like the rest.

export const SETTINGS_APPS_PATH = '/settings/apps';

/** One authorized app as the page shows it. */
export interface AuthorizedAppView {
  /** The app's id (not its client_id): the revoke form's path names it. */
  readonly id: string;
  readonly name: string;
  readonly clientId: string;
  /** The app's registered redirect URIs, shown as the hosts they send access to. */
  readonly redirectUris: readonly string[];
  readonly scopes: ReadonlyArray<{ readonly name: string; readonly description: string }>;
  readonly authorizedAt: Date;
}

export interface SettingsAppsPageInput {
  readonly apps: readonly AuthorizedAppView[];
  readonly now: Date;
  readonly error?: string | undefined;
}

export function settingsAppsPage(input: SettingsAppsPageInput): string {
  const error = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>\n` : '';
  const list =
    input.apps.length === 0
      ? '<p>You have not authorized any apps.</p>'
      : input.apps.map((app) => appSection(app, input.now)).join('\n');
  return page(
    'Authorized apps',
    `<h1>Authorized apps</h1>
${error}<p>Apps you allowed to use your Latchkey account. Revoking one signs it out at once: its tokens stop working, and it has to ask you again.</p>
${list}
<p><a href="/">Home</a></p>`,
  );
}

function appSection(app: AuthorizedAppView, now: Date): string {
  const headingId = `app-${escapeHtml(app.id)}`;
  const hosts = [...new Set(app.redirectUris.map(redirectTarget))];
  const where =
    hosts.length === 0
      ? ''
      : `<p>Receives access at <strong>${hosts.map(escapeHtml).join(', ')}</strong>.</p>`;
  const scopes = app.scopes
    .map((s) => `<li>${escapeHtml(s.description)} <code>${escapeHtml(s.name)}</code></li>`)
    .join('');
  const ago = Math.max(0, now.getTime() - app.authorizedAt.getTime());
  const action = `${SETTINGS_APPS_PATH}/${encodeURIComponent(app.id)}/revoke`;
  return `<section class="app" aria-labelledby="${headingId}">
  <h2 id="${headingId}">${escapeHtml(app.name || app.clientId)}</h2>
  ${where}
  <p>It may:</p>
  <ul>${scopes}</ul>
  <p class="state">Authorized <time datetime="${app.authorizedAt.toISOString()}">${escapeHtml(duration(ago))} ago</time></p>
  <form method="post" action="${escapeHtml(action)}"><button type="submit">Revoke</button></form>
</section>`;
}
