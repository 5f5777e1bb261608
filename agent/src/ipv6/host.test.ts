import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToIpv6, isGlobalIpv6, parseIfInet6, parseIpv6Route, readHostIpv6 } from './host.js';

// Real lines as the kernel writes them (a Raspberry Pi on a dual-stack FTTH router).
const IF_INET6 = `00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000ba27ebfffe123456 02 40 20 80     eth0
fd000000000000000000000000000002 02 40 00 80     eth0
20010db8000a00010000000000000042 02 40 00 00     eth0
20010db8000a00010000000000000043 02 40 00 40     eth0
20010db8000a00010000000000000044 02 40 00 20     eth0
20010db8000a00010000000000000045 02 40 00 08     eth0
`;

const ROUTE_DEFAULT = `fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;
const ROUTE_NONE = `fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;

describe('hexToIpv6', () => {
  it.each([
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000a00010000000000000042', '2001:db8:a:1::42'],
    ['fe80000000000000ba27ebfffe123456', 'fe80::ba27:ebff:fe12:3456'],
    ['20010db8000000010000000100000001', '2001:db8:0:1:0:1:0:1'], // single zero groups stay
    ['00000000000000000000000000000000', '::'],
  ])('%s → %s', (hex, addr) => expect(hexToIpv6(hex)).toBe(addr));
});

describe('isGlobalIpv6', () => {
  it.each([
    ['2001:db8::1', true],
    ['2402:800::1', true],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00::2', false], // unique local: private, like 192.168/16
    ['fc12::1', false],
    ['ff02::1', false],
    ['::ffff:198.18.0.1', false],
  ])('%s → %s', (a, g) => expect(isGlobalIpv6(a)).toBe(g));
});

describe('parseIfInet6', () => {
  it('keeps usable global addresses only (not loopback, link-local, ULA, tentative, deprecated, failed DAD)', () => {
    expect(parseIfInet6(IF_INET6)).toEqual([{ address: '2001:db8:a:1::42', iface: 'eth0', prefixLen: 64 }]);
  });
  it('takes empty and malformed text', () => {
    expect(parseIfInet6('')).toEqual([]);
    expect(parseIfInet6('garbage\n1 2 3')).toEqual([]);
  });
});

describe('parseIpv6Route', () => {
  it('finds a default route via a gateway, ignoring the reject route on lo', () => {
    expect(parseIpv6Route(ROUTE_DEFAULT)).toEqual(['eth0']);
  });
  it('finds none when only the kernel reject route is there', () => {
    expect(parseIpv6Route(ROUTE_NONE)).toEqual([]);
    expect(parseIpv6Route('')).toEqual([]);
  });
});

describe('readHostIpv6', () => {
  it('reads both files of a /proc/net directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatang-procnet-'));
    try {
      writeFileSync(join(dir, 'if_inet6'), IF_INET6);
      writeFileSync(join(dir, 'ipv6_route'), ROUTE_DEFAULT);
      expect(readHostIpv6(dir)).toMatchObject({ globalAddress: true, defaultRoute: true, routeIfaces: ['eth0'] });
      writeFileSync(join(dir, 'ipv6_route'), ROUTE_NONE);
      expect(readHostIpv6(dir)).toMatchObject({ globalAddress: true, defaultRoute: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
