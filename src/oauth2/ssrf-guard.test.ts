import { describe, expect, it } from 'vitest';
import { classifyAddress, guardedResolve, type Resolver, SsrfError } from './ssrf-guard.ts';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link_local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
  ])('IPv4 %s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it.each([
    ['2606:4700:4700::1111', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['fc00::1', 'unique_local'],
    ['fd12:3456:789a::1', 'unique_local'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf::1', 'link_local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'], // Teredo
    ['::2', 'reserved'], // IPv4-compatible
  ])('IPv6 %s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:169.254.169.254', 'link_local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a00:1', 'private'], // NAT64 of 10.0.0.1
    ['64:ff9b::808:808', 'public'], // NAT64 of 8.8.8.8
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['2002:c0a8:101::1', 'private'], // 6to4 of 192.168.1.1
  ])('an IPv6 address carrying IPv4 (%s) is judged by the IPv4 address: %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it.each(['', 'localhost', '999.1.1.1', '1.2.3', 'gggg::1', '::1::2'])('%j is invalid', (address) => {
    expect(classifyAddress(address)).toBe('invalid');
  });
});

describe('guardedResolve', () => {
  const resolver =
    (table: Record<string, string[]>): Resolver =>
    async (host) =>
      (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('returns the addresses of a public name', async () => {
    const r = resolver({ 'client.example': ['93.184.216.34', '2606:2800:220:1::1'] });
    expect(await guardedResolve('client.example', { resolver: r })).toHaveLength(2);
  });

  it.each([
    ['a name resolving to loopback', { 'evil.example': ['127.0.0.1'] }, /loopback/],
    ['a name resolving to cloud metadata', { 'evil.example': ['169.254.169.254'] }, /link-local/],
    ['a name resolving to a private address', { 'evil.example': ['10.0.0.7'] }, /private/],
    [
      'a name with one private address among public ones',
      { 'evil.example': ['8.8.8.8', '192.168.0.1'] },
      /private/,
    ],
    ['a name resolving to IPv4-mapped loopback', { 'evil.example': ['::ffff:127.0.0.1'] }, /loopback/],
    ['a name resolving to unique-local IPv6', { 'evil.example': ['fd00::1'] }, /unique-local/],
    ['a name with no addresses', {}, /no addresses/],
  ])('refuses %s', async (_name, table, message) => {
    await expect(guardedResolve('evil.example', { resolver: resolver(table) })).rejects.toSatisfy(
      (e) => e instanceof SsrfError && message.test(e.message),
    );
  });

  it('refuses private literal addresses without asking DNS', async () => {
    const never: Resolver = async () => {
      throw new Error('DNS must not be asked');
    };
    for (const host of ['127.0.0.1', '[::1]', '10.0.0.1', '[::ffff:169.254.169.254]', '0.0.0.0']) {
      await expect(guardedResolve(host, { resolver: never })).rejects.toBeInstanceOf(SsrfError);
    }
  });

  it('a resolver failure is a refusal, not a crash', async () => {
    const failing: Resolver = async () => {
      throw new Error('ENOTFOUND');
    };
    await expect(guardedResolve('nowhere.example', { resolver: failing })).rejects.toBeInstanceOf(SsrfError);
  });

  it('allowPrivate (tests) lets private addresses through', async () => {
    const r = resolver({ 'lab.example': ['10.0.0.7'] });
    expect(await guardedResolve('lab.example', { resolver: r, allowPrivate: true })).toEqual([
      { address: '10.0.0.7', family: 4 },
    ]);
  });
});
