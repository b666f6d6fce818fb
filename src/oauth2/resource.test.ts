import { describe, expect, it } from 'vitest';
import { isAcceptableResource, isOwnAudience, isWithin, normaliseResource } from './resource.ts';

const ACCESS_URL = 'http://127.0.0.1:3000';

describe('normaliseResource', () => {
  it.each([
    ['https://Example.COM', 'https://example.com/'],
    ['HTTPS://example.com:443/mcp', 'https://example.com/mcp'],
    ['http://127.0.0.1:80', 'http://127.0.0.1/'],
    ['https://example.com:8443/a/b?x=1', 'https://example.com:8443/a/b?x=1'],
    ['https://example.com/mcp/', 'https://example.com/mcp/'],
  ])('%s → %s', (input, normal) => {
    expect(normaliseResource(input)).toBe(normal);
  });

  it.each([
    '',
    'mcp',
    '/mcp',
    'urn:x',
    'ftp://example.com/',
    'https://example.com/#x',
    'https://u@example.com/',
    'https://exa mple.com/',
  ])('refuses %j', (input) => {
    expect(normaliseResource(input)).toBeUndefined();
  });
});

describe('audiences', () => {
  it('counts the access URL and anything under it as this server', () => {
    expect(isOwnAudience('http://127.0.0.1:3000/', ACCESS_URL)).toBe(true);
    expect(isOwnAudience('http://127.0.0.1:3000/mcp', ACCESS_URL)).toBe(true);
    expect(isOwnAudience('http://127.0.0.1:3001/', ACCESS_URL)).toBe(false);
    expect(isOwnAudience('http://localhost:3000/', ACCESS_URL)).toBe(false);
    expect(isOwnAudience('', ACCESS_URL)).toBe(false);
    expect(isOwnAudience('https://auth.example/latchkey/mcp', 'https://auth.example/latchkey')).toBe(true);
    expect(isOwnAudience('https://auth.example/latchkeyx', 'https://auth.example/latchkey')).toBe(false);
  });

  it('nests at path boundaries', () => {
    expect(isWithin('https://x/mcp/tools', 'https://x/mcp')).toBe(true);
    expect(isWithin('https://x/mcpx', 'https://x/mcp')).toBe(false);
  });

  it('accepts other resource servers on https, plain http only on loopback', () => {
    expect(isAcceptableResource('https://api.example/', ACCESS_URL)).toBe(true);
    expect(isAcceptableResource('http://localhost:9000/', ACCESS_URL)).toBe(true);
    expect(isAcceptableResource('http://api.example/', ACCESS_URL)).toBe(false);
  });
});
