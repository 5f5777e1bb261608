import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/**
 * Host-level IPv6 facts, read from the kernel's own tables (the network namespace the agent runs
 * in: /proc/net is per namespace). Elsewhere than Linux, addresses come from os.networkInterfaces()
 * and the default route is unknown (reported false).
 */

export interface HostAddress {
  address: string;
  iface: string;
  prefixLen: number;
}

export interface HostIpv6 {
  globalAddress: boolean;
  defaultRoute: boolean;
  /** Usable global addresses (for the checklist; never sent to the collector). */
  addresses: HostAddress[];
  /** Interfaces holding an IPv6 default route. */
  routeIfaces: string[];
}

// IFA_F_* flags in /proc/net/if_inet6 (include/uapi/linux/if_addr.h).
const IFA_F_DADFAILED = 0x08;
const IFA_F_DEPRECATED = 0x20;
const IFA_F_TENTATIVE = 0x40;
// Scope column: 0x00 is global (link-local 0x20, host 0x10, site 0x40).
const SCOPE_GLOBAL = 0x00;
// RTF_* flags in /proc/net/ipv6_route (include/uapi/linux/route.h, ipv6_route.h).
const RTF_UP = 0x0001;
const RTF_REJECT = 0x0200;

/** '20010db8000000000000000000000001' → '2001:db8::1' (compressed, lower case). */
export function hexToIpv6(hex: string): string {
  const groups = (hex.match(/.{4}/g) ?? []).map((g) => Number.parseInt(g, 16).toString(16));
  // Longest run of zero groups (at least two) becomes '::'.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * Is this address usable to reach the IPv6 Internet? Not loopback, link-local, unique-local
 * (fc00::/7: private, like 192.168/16), multicast, unspecified or IPv4-mapped. The documentation
 * prefix 2001:db8::/32 counts as global here: the test beds use it in place of a real prefix.
 */
export function isGlobalIpv6(address: string): boolean {
  const a = address.toLowerCase();
  if (a === '::' || a === '::1') return false;
  if (a.startsWith('::ffff:')) return false;
  const first = Number.parseInt(a.split(':')[0] || '0', 16);
  if ((first & 0xfe00) === 0xfc00) return false; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return false; // fe80::/10 link local
  if ((first & 0xff00) === 0xff00) return false; // multicast
  return first !== 0; // ::/16 holds only special addresses
}

/** Parse /proc/net/if_inet6: usable global addresses (not tentative, failed or deprecated). */
export function parseIfInet6(text: string): HostAddress[] {
  const out: HostAddress[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/i.test(f[0] as string)) continue;
    const scope = Number.parseInt(f[3] as string, 16);
    const flags = Number.parseInt(f[4] as string, 16);
    if (scope !== SCOPE_GLOBAL) continue;
    if (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)) continue;
    const address = hexToIpv6(f[0] as string);
    if (!isGlobalIpv6(address)) continue;
    out.push({ address, iface: f[5] as string, prefixLen: Number.parseInt(f[2] as string, 16) });
  }
  return out;
}

/** Parse /proc/net/ipv6_route: interfaces with a working default route (::/0, up, not reject, not lo). */
export function parseIpv6Route(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, destLen] = f;
    if (dest !== '0'.repeat(32) || destLen !== '00') continue;
    const flags = Number.parseInt(f[8] as string, 16);
    const iface = f[9] as string;
    if (!(flags & RTF_UP) || flags & RTF_REJECT || iface === 'lo') continue;
    if (!out.includes(iface)) out.push(iface);
  }
  return out;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Read the host's IPv6 state. `procNet` is injectable for tests. */
export function readHostIpv6(procNet = '/proc/net'): HostIpv6 {
  const ifText = readOr(`${procNet}/if_inet6`);
  const routeText = readOr(`${procNet}/ipv6_route`);
  let addresses: HostAddress[];
  if (ifText !== undefined) addresses = parseIfInet6(ifText);
  else {
    addresses = Object.entries(networkInterfaces()).flatMap(([iface, list]) =>
      (list ?? [])
        .filter((a) => a.family === 'IPv6' && !a.internal && isGlobalIpv6(a.address))
        .map((a) => ({ address: a.address, iface, prefixLen: Number(a.cidr?.split('/')[1] ?? 128) })),
    );
  }
  const routeIfaces = routeText !== undefined ? parseIpv6Route(routeText) : [];
  return { globalAddress: addresses.length > 0, defaultRoute: routeIfaces.length > 0, addresses, routeIfaces };
}
