import { expect, it } from 'vitest';
import { addressBucket, ipv6HexGroups as ipv6Groups } from './keys.ts';

it('keeps IPv4 addresses, and IPv4-mapped IPv6 addresses count as their IPv4 address', () => {
  expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
  expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
  expect(addressBucket('::FFFF:127.0.0.1')).toBe('127.0.0.1');
});

it('buckets IPv6 addresses by their /64, so a host cannot rotate through its subnet', () => {
  const a = addressBucket('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
  expect(a).toBe('2001:db8:1:2::/64');
  expect(addressBucket('2001:0db8:0001:0002::1')).toBe(a);
  expect(addressBucket('2001:db8:1:3::1')).not.toBe(a);
  expect(addressBucket('::1')).toBe('0:0:0:0::/64');
  expect(addressBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
});

it('expands every IPv6 spelling to eight groups, and refuses malformed ones', () => {
  expect(ipv6Groups('::')).toEqual(['0', '0', '0', '0', '0', '0', '0', '0']);
  expect(ipv6Groups('1::')).toEqual(['1', '0', '0', '0', '0', '0', '0', '0']);
  expect(ipv6Groups('64:ff9b::192.0.2.33')).toEqual(['64', 'ff9b', '0', '0', '0', '0', 'c000', '221']);
  expect(ipv6Groups('1:2:3:4:5:6:7:8')).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  for (const bad of ['1:2:3', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', 'g::1', '12345::1'])
    expect(ipv6Groups(bad), bad).toBeUndefined();
  expect(addressBucket('not-an-address:')).toBe('not-an-address:');
});
