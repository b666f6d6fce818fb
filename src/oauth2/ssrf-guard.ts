import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ipv6Groups } from '../net/ipv6.ts';

// Latchkey fetches URLs a stranger chose (client ID metadata documents: the client_id is
// the URL). Without a guard, that stranger could make Latchkey call its own network:
// cloud metadata at 169.254.169.254, an admin port on 127.0.0.1, a database on 10.0.0.5.
// So the host is resolved here, every address it resolves to is classified, and the
// connection goes to the address that was checked (no second lookup a DNS server could
// answer differently: DNS rebinding).

/** What an address is, for the purpose of "may Latchkey connect to it". */
export type AddressClass =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link_local'
  | 'unique_local'
  | 'multicast'
  | 'unspecified'
  | 'reserved'
  | 'invalid';

const v4 = (ranges: ReadonlyArray<readonly [string, number]>): BlockList => {
  const list = new BlockList();
  for (const [net, prefix] of ranges) list.addSubnet(net, prefix, 'ipv4');
  return list;
};
const v6 = (ranges: ReadonlyArray<readonly [string, number]>): BlockList => {
  const list = new BlockList();
  for (const [net, prefix] of ranges) list.addSubnet(net, prefix, 'ipv6');
  return list;
};

// IANA special-purpose registries (RFC 6890 and successors). Order matters: the first
// class that matches names the address.
const IPV4_CLASSES: ReadonlyArray<readonly [AddressClass, BlockList]> = [
  ['unspecified', v4([['0.0.0.0', 8]])],
  ['loopback', v4([['127.0.0.0', 8]])],
  [
    'private',
    v4([
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['100.64.0.0', 10], // carrier-grade NAT: someone's internal network
    ]),
  ],
  ['link_local', v4([['169.254.0.0', 16]])],
  ['multicast', v4([['224.0.0.0', 4]])],
  [
    'reserved',
    v4([
      ['192.0.0.0', 24], // IETF protocol assignments
      ['192.0.2.0', 24], // documentation
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
      ['198.18.0.0', 15], // benchmarking
      ['192.88.99.0', 24], // 6to4 relay anycast
      ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
    ]),
  ],
];

const IPV6_CLASSES: ReadonlyArray<readonly [AddressClass, BlockList]> = [
  ['unspecified', v6([['::', 128]])],
  ['loopback', v6([['::1', 128]])],
  ['unique_local', v6([['fc00::', 7]])],
  [
    'link_local',
    v6([
      ['fe80::', 10],
      ['fec0::', 10], // deprecated site-local: still routed privately by some networks
    ]),
  ],
  ['multicast', v6([['ff00::', 8]])],
  [
    'reserved',
    v6([
      ['::', 96], // IPv4-compatible (deprecated)
      ['64:ff9b:1::', 48], // local-use NAT64
      ['100::', 64], // discard
      ['2001::', 23], // IETF protocol assignments, Teredo among them
      ['2001:db8::', 32], // documentation
      ['3fff::', 20], // documentation
      ['5f00::', 16], // segment routing
    ]),
  ],
];

/** The IPv4 address an IPv6 address carries: mapped (::ffff:a.b.c.d), NAT64, or 6to4. */
function embeddedIpv4(groups: readonly number[]): string | undefined {
  const quad = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zeros = (...gs: number[]) => gs.every((g) => g === 0);
  if (zeros(g0, g1, g2, g3, g4) && g5 === 0xffff) return quad(g6, g7); // ::ffff:0:0/96
  if (g0 === 0x64 && g1 === 0xff9b && zeros(g2, g3, g4, g5)) return quad(g6, g7); // 64:ff9b::/96
  if (g0 === 0x2002) return quad(g1, g2); // 2002::/16
  return undefined;
}

/** Classifies one IP address (v4 or v6, textual). Anything unparsable is `invalid`. */
export function classifyAddress(address: string): AddressClass {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 4) {
    for (const [name, list] of IPV4_CLASSES) if (list.check(bare, 'ipv4')) return name;
    return 'public';
  }
  if (family === 6) {
    const groups = ipv6Groups(bare);
    if (!groups) return 'invalid';
    const inner = embeddedIpv4(groups);
    // An address that carries an IPv4 address reaches that address: judge it by that.
    if (inner !== undefined) return classifyAddress(inner);
    const normal = groups.map((g) => g.toString(16)).join(':');
    for (const [name, list] of IPV6_CLASSES) if (list.check(normal, 'ipv6')) return name;
    return 'public';
  }
  return 'invalid';
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has (injectable so tests need no DNS). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Why a host was refused; the message is safe to show to the client that chose it. */
export class SsrfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SsrfError';
  }
}

/**
 * The addresses to connect to for `hostname`: all of them public, or an SsrfError. A host
 * with one private address among public ones is refused whole (an attacker's DNS decides
 * which one a client picks). `allowPrivate` (tests, labs) skips the classification.
 */
export async function guardedResolve(
  hostname: string,
  options: { resolver?: Resolver | undefined; allowPrivate?: boolean | undefined } = {},
): Promise<ResolvedAddress[]> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = [...(await (options.resolver ?? systemResolver)(host))];
    } catch {
      throw new SsrfError(`cannot resolve ${host}`);
    }
    if (addresses.length === 0) throw new SsrfError(`${host} has no addresses`);
  }
  if (options.allowPrivate) return addresses;
  for (const { address } of addresses) {
    const kind = classifyAddress(address);
    if (kind !== 'public') throw new SsrfError(`${host} resolves to a ${kind.replace('_', '-')} address`);
  }
  return addresses;
}
