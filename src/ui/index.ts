export {
  authorizeErrorPage,
  type ConsentPageInput,
  consentPage,
  consentPageCsp,
  redirectTarget,
} from './consent-page.ts';
export {
  type DeviceCodePageInput,
  deviceCodePage,
  EXTERNAL_AUTH_PAGE_PATH,
  type ExternalAuthPageInput,
  externalAuthPage,
  type ProviderLinkView,
} from './external-auth-page.ts';
export { escapeHtml, PAGE_CSP, page, pageHeaders } from './html.ts';
export { homePage, type LoginPageInput, loginPage, safeRedirect } from './login-page.ts';
export { rateLimitedPage } from './rate-limited-page.ts';
export {
  type AuthorizedAppView,
  SETTINGS_APPS_PATH,
  type SettingsAppsPageInput,
  settingsAppsPage,
} from './settings-apps-page.ts';
