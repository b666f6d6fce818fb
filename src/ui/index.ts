export { escapeHtml, PAGE_CSP, page } from './html.ts';
export { homePage, type LoginPageInput, loginPage, safeRedirect } from './login-page.ts';
