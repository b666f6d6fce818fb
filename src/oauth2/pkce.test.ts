import { expect, it } from 'vitest';
import { isPkceText, s256, verifyPkce } from './pkce.ts';

it('verifies the RFC 7636 appendix B example', () => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  expect(s256(verifier)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  expect(verifyPkce(verifier, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(true);
  expect(verifyPkce(verifier, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cX')).toBe(false);
  expect(verifyPkce(verifier, 'short')).toBe(false);
});

it('accepts 43 to 128 unreserved characters only', () => {
  expect(isPkceText('a'.repeat(43))).toBe(true);
  expect(isPkceText(`${'a'.repeat(124)}-._~`)).toBe(true);
  expect(isPkceText('a'.repeat(42))).toBe(false);
  expect(isPkceText('a'.repeat(129))).toBe(false);
  expect(isPkceText(`${'a'.repeat(43)}/`)).toBe(false);
});
