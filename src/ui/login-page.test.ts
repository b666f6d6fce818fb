import { describe, expect, it } from 'vitest';
import { escapeHtml } from './html.ts';
import { loginPage, safeRedirect } from './login-page.ts';

const ACCESS = 'https://auth.example.com';

describe('safeRedirect', () => {
  it.each([
    ['/settings/tokens', '/settings/tokens'],
    ['/oauth2/authorize?client_id=a&state=b', '/oauth2/authorize?client_id=a&state=b'],
    ['/a/../b', '/b'],
  ])('keeps the same-origin path %s', (input, expected) => {
    expect(safeRedirect(input, ACCESS)).toBe(expected);
  });

  it.each([
    '//evil.example/x',
    '/\\evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    '',
    '/\u0000x',
    '/\nLocation: https://evil',
    undefined,
    ['/a'],
  ])('sends anything else to / (%j)', (input) => {
    expect(safeRedirect(input, ACCESS)).toBe('/');
  });
});

it('escapes what it echoes into the page', () => {
  expect(escapeHtml(`"><script>x</script>'&`)).toBe('&quot;&gt;&lt;script&gt;x&lt;/script&gt;&#39;&amp;');
  const html = loginPage({
    redirect: '/',
    csrfToken: 't',
    email: '"><img src=x onerror=alert(1)>',
    error: '<b>no</b>',
  });
  expect(html).not.toContain('<img');
  expect(html).not.toContain('<b>');
});
