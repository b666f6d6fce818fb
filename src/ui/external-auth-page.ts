import { escapeHtml, page } from './html.ts';

// The external accounts page (/settings/external-auth): each configured provider with the
// user's link, and the forms to link, link with a code, and unlink. Plain HTML forms, so
// it works without JavaScript. The upstream login and the failure reason come from the
// provider: untrusted text, escaped like everything else here.

export const EXTERNAL_AUTH_PAGE_PATH = '/settings/external-auth';

/** One provider as the user sees it (the vault's LinkState fits). */
export interface ProviderLinkView {
  readonly provider: { readonly id: string; readonly displayName: string; readonly deviceFlow: boolean };
  readonly linked: boolean;
  readonly upstreamLogin: string;
  readonly expiresAt: Date | null;
  readonly failureReason: string;
}

export interface ExternalAuthPageInput {
  readonly providers: readonly ProviderLinkView[];
  readonly now: Date;
  /** Shown above the list: an error (refused post, failed device flow). */
  readonly error?: string | undefined;
}

export function externalAuthPage(input: ExternalAuthPageInput): string {
  const error = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>\n` : '';
  const list =
    input.providers.length === 0
      ? '<p>No external services are configured on this server.</p>'
      : input.providers.map((p) => providerSection(p, input.now)).join('\n');
  return page(
    'External accounts',
    `<h1>External accounts</h1>
${error}<p>Link the services you work with. Latchkey keeps their tokens fresh for you and the agents acting for you.</p>
${list}
<p><a href="/">Home</a></p>`,
  );
}

function providerSection(view: ProviderLinkView, now: Date): string {
  const { id, displayName, deviceFlow } = view.provider;
  const path = `${EXTERNAL_AUTH_PAGE_PATH}/${encodeURIComponent(id)}`;
  const linkUrl = `/external-auth/${encodeURIComponent(id)}/link?return_to=${encodeURIComponent(EXTERNAL_AUTH_PAGE_PATH)}`;
  const failed = view.linked && view.failureReason !== '';
  const actions: string[] = [];
  if (!view.linked || failed) {
    actions.push(`<a class="button" href="${escapeHtml(linkUrl)}">${failed ? 'Link again' : 'Link'}</a>`);
    if (deviceFlow) actions.push(postButton(`${path}/device`, 'Link with a code'));
  }
  if (view.linked) actions.push(postButton(`${path}/unlink`, 'Unlink'));
  const headingId = `provider-${escapeHtml(id)}`;
  return `<section class="provider" aria-labelledby="${headingId}">
  <h2 id="${headingId}">${escapeHtml(displayName || id)}</h2>
  <p class="${failed ? 'state error' : 'state'}">${escapeHtml(stateText(view, now))}</p>
  <div class="actions">${actions.join('')}</div>
</section>`;
}

function stateText(view: ProviderLinkView, now: Date): string {
  if (!view.linked) return 'Not linked';
  if (view.failureReason !== '') return `Failed: ${view.failureReason} — link again`;
  const who = view.upstreamLogin === '' ? 'Linked' : `Linked as ${view.upstreamLogin}`;
  if (view.expiresAt === null) return who;
  const left = view.expiresAt.getTime() - now.getTime();
  return left > 0
    ? `${who} · expires in ${duration(left)}`
    : `${who} · token expired, renewed when next used`;
}

/** A rough, readable duration: "45 seconds", "12 minutes", "8 hours", "3 days". */
export function duration(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 90) return plural(s, 'second');
  const min = Math.round(s / 60);
  if (min < 90) return plural(min, 'minute');
  const h = Math.round(min / 60);
  if (h < 36) return plural(h, 'hour');
  return plural(Math.round(h / 24), 'day');
}

function postButton(action: string, label: string, hidden: Record<string, string> = {}): string {
  const fields = Object.entries(hidden)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<form method="post" action="${escapeHtml(action)}">${fields}<button type="submit">${escapeHtml(label)}</button></form>`;
}

export interface DeviceCodePageInput {
  readonly provider: { readonly id: string; readonly displayName: string };
  readonly deviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete?: string | undefined;
  /** Seconds between polls, as the provider last said. */
  readonly interval: number;
  /** Seconds until the code expires; shown on the first page only. */
  readonly expiresIn?: number | undefined;
  /** After a poll: the provider has not seen the code yet ("slow_down" asks for patience). */
  readonly waiting?: 'authorization_pending' | 'slow_down' | undefined;
}

/** The device flow's code and where to enter it, with the button to check for approval. */
export function deviceCodePage(input: DeviceCodePageInput): string {
  const name = escapeHtml(input.provider.displayName || input.provider.id);
  const uri = escapeHtml(input.verificationUri);
  const waiting = input.waiting
    ? `<p class="notice" role="status">Still waiting: ${name} has not seen the code yet. Enter it there, then try again${
        input.waiting === 'slow_down' ? ` in ${input.interval} seconds` : ''
      }.</p>\n`
    : '';
  const expires =
    input.expiresIn === undefined
      ? ''
      : `<p>The code works for ${escapeHtml(duration(input.expiresIn * 1000))}.</p>\n`;
  const complete = input.verificationUriComplete
    ? `<p>Or <a href="${escapeHtml(input.verificationUriComplete)}" rel="noreferrer">open the page with the code filled in</a>.</p>\n`
    : '';
  const hidden: Record<string, string> = {
    device_code: input.deviceCode,
    user_code: input.userCode,
    verification_uri: input.verificationUri,
    interval: String(input.interval),
  };
  if (input.verificationUriComplete) hidden.verification_uri_complete = input.verificationUriComplete;
  return page(
    `Link ${input.provider.displayName || input.provider.id}`,
    `<h1>Link ${name} with a code</h1>
${waiting}<p>Open <a href="${uri}" rel="noreferrer">${uri}</a> and enter this code:</p>
<p class="user-code"><code>${escapeHtml(input.userCode)}</code></p>
${expires}${complete}${postButton(
  `${EXTERNAL_AUTH_PAGE_PATH}/${encodeURIComponent(input.provider.id)}/device/poll`,
  "I've entered the code",
  hidden,
)}
<p><a href="${EXTERNAL_AUTH_PAGE_PATH}">Cancel</a></p>`,
  );
}
