import { describe, expect, it } from 'vitest';
import { matchRedirectUri } from './authorize.ts';

describe('matchRedirectUri', () => {
  const registered = [
    'https://app.example/cb',
    'http://127.0.0.1:8080/cb',
    'http://localhost/done?x=1',
    'http://[::1]/cb',
  ];

  it.each([
    'https://app.example/cb',
    'http://127.0.0.1:8080/cb',
    'http://127.0.0.1:50000/cb',
    'http://127.0.0.1/cb',
    'http://localhost:1234/done?x=1',
    'http://[::1]:9/cb',
  ])('accepts %s', (uri) => {
    expect(matchRedirectUri(registered, uri)).toBe(true);
  });

  it.each([
    'https://app.example/cb/',
    'https://app.example/c',
    'https://app.example/cb#x',
    'https://app.example:443/cb',
    'https://APP.example/cb',
    'https://app.example@evil.example/cb',
    'http://localhost:8080/cb',
    'http://127.0.0.1:8080/cb/',
    'http://127.0.0.1:8080@evil.example/cb',
    'http://127.0.0.1:65536/cb',
    'http://127.0.0.1:8080/%63b',
    'https://127.0.0.1:8080/cb',
    'http://localhost/done?x=2',
  ])('refuses %s', (uri) => {
    expect(matchRedirectUri(registered, uri)).toBe(false);
  });
});
