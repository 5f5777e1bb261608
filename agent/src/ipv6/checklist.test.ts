import type { Ipv6Body } from '@hatang/shared';
import { describe, expect, it } from 'vitest';
import { formatIpv6Checklist } from './checklist.js';

const body: Ipv6Body = {
  host: { globalAddress: false, defaultRoute: false },
  targets: [
    {
      name: 'collector',
      url: 'http://ds.hatang.test:8080/healthz',
      checks: [
        { check: 'dns-a', status: 'pass', ms: 2.5, family: 4, detail: '198.18.1.2' },
        { check: 'dns-aaaa', status: 'pass', ms: 3, family: 6, detail: '2001:db8:1::2' },
        { check: 'tcp-v4', status: 'pass', ms: 1.2, family: 4 },
        { check: 'tcp-v6', status: 'fail', code: 'ENETUNREACH', ms: 0.1, family: 6 },
        { check: 'http-v6', status: 'skip', code: 'ENETUNREACH' },
        { check: 'happy-eyeballs', status: 'slow', ms: 6200, family: 4, detail: 'IPv4 (IPv6 tried first…)' },
        { check: 'pmtu-v6', status: 'skip', code: 'ENETUNREACH' },
      ],
    },
    {
      name: 'portal',
      checks: [
        { check: 'dns-aaaa', status: 'pass', ms: 3 },
        { check: 'tcp-v6', status: 'fail', code: 'ENETUNREACH', ms: 0.1 },
      ],
    },
    { name: 'dich-vu-cong', checks: [{ check: 'config', status: 'skip', code: 'NOT_CONFIGURED' }] },
  ],
};

describe('formatIpv6Checklist', () => {
  it('prints a Vietnamese checklist with one line per check and each failure explained once', () => {
    const text = formatIpv6Checklist(body, 'vi').join('\n');
    expect(text).toContain('Máy này:');
    expect(text).toMatch(/✗ lỗi\s+Địa chỉ IPv6 toàn cầu trên máy này\s+NO_GLOBAL_ADDRESS/);
    expect(text).toMatch(/✓ đạt\s+Kết nối chỉ qua IPv4\s+1\.2 ms/);
    expect(text).toMatch(/! chậm\s+Khi có cả hai, máy chọn giao thức nào\s+6200 ms\s+IPv4/);
    expect(text).toMatch(/– bỏ qua\s+Mở trang web chỉ qua IPv6\s+ENETUNREACH/);
    expect(text).toContain('Hệ thống collector  http://ds.hatang.test:8080/healthz:');
    // ENETUNREACH appears on four lines but is explained once.
    expect(text.match(/→ Máy không có đường đi cho giao thức này/g)).toHaveLength(1);
    expect(text).toContain(
      'Tóm tắt: máy này CHƯA có IPv6; tới được qua IPv6 0/2 hệ thống (chưa được: collector, portal)',
    );
  });

  it('prints English on request', () => {
    const lines = formatIpv6Checklist(body, 'en');
    expect(lines).toContain('  This computer:');
    expect(lines.join('\n')).toMatch(/✗ fail\s+Connect over IPv6 only\s+0\.1 ms\s+ENETUNREACH/);
    expect(lines.at(-1)).toBe(
      '  Summary: this computer has NO IPv6; 0 of 2 targets answer over IPv6 (not: collector, portal)',
    );
  });

  it('says so when everything passes', () => {
    const ok: Ipv6Body = {
      host: { globalAddress: true, defaultRoute: true },
      targets: [{ name: 'x', checks: [{ check: 'http-v6', status: 'pass', ms: 4 }] }],
    };
    expect(formatIpv6Checklist(ok, 'vi').at(-1)).toBe('  Tóm tắt: máy này có IPv6; tới được qua IPv6 1/1 hệ thống');
  });
});
