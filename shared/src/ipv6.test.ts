import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeIpv6Code, IPV6_CHECK_LABELS, IPV6_CHECKS, IPV6_CODES, isIpv6Code, isPlaceholderUrl } from './ipv6.js';
import { Ipv6Body } from './schemas/results.js';
import { IPV6_MAX_TARGETS } from './spec.js';
import { Validator } from './validate.js';

describe('IPv6 vocabulary', () => {
  const doc = readFileSync(new URL('../../docs/ipv6.md', import.meta.url), 'utf8');

  it('documents every code and every check in docs/ipv6.md', () => {
    const missing = [...Object.keys(IPV6_CODES), 'HTTP_', ...IPV6_CHECKS, 'global-address', 'default-route'].filter(
      (c) => !doc.includes(`\`${c}`),
    );
    expect(missing).toEqual([]);
  });

  it('labels every check in both languages', () => {
    for (const c of IPV6_CHECKS) {
      expect(IPV6_CHECK_LABELS[c].vi.length).toBeGreaterThan(0);
      expect(IPV6_CHECK_LABELS[c].en.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['NXDOMAIN', true],
    ['HTTP_503', true],
    ['HTTP_200', true],
    ['HTTP_600', false],
    ['HTTP_50', false],
    ['EWHATEVER', false],
  ])('%s is a known code: %s', (code, known) => expect(isIpv6Code(code)).toBe(known));

  it('explains HTTP statuses by class and unknown codes plainly', () => {
    expect(describeIpv6Code('HTTP_503', 'en')).toBe('The web server answered HTTP 503 (the server has a problem).');
    expect(describeIpv6Code('HTTP_404', 'vi')).toBe(
      'Máy chủ web trả lời mã HTTP 404 (địa chỉ hoặc quyền truy cập sai).',
    );
    expect(describeIpv6Code('NODATA', 'en')).toContain('no AAAA');
    expect(describeIpv6Code('EWHATEVER', 'en')).toBe('Code EWHATEVER.');
  });

  it.each([
    ['https://cong-thong-tin-tinh.invalid/', true],
    ['http://INVALID/', true],
    ['https://portal.hatang.test/', false],
    ['https://invalid.example.vn/', false],
    ['not a url', false],
  ])('%s is a placeholder: %s', (url, p) => expect(isPlaceholderUrl(url)).toBe(p));
});

describe('Ipv6Body on the wire', () => {
  const v = new Validator(Ipv6Body);
  const target = (i: number) => ({
    name: `t${i}`,
    url: `https://t${i}.hatang.test/`,
    checks: [{ check: 'http-v6', status: 'pass', ms: 12, family: 6, httpStatus: 200, detail: 'HTTP 200 · TLS ok' }],
  });
  const body = (n: number) => ({
    host: { globalAddress: true, defaultRoute: true },
    targets: Array.from({ length: n }, (_, i) => target(i)),
  });

  it('takes the configured targets plus the collector, each check with its family and HTTP status', () => {
    expect(v.explain(body(IPV6_MAX_TARGETS + 1))).toBeUndefined();
    expect(v.explain(body(IPV6_MAX_TARGETS + 2))).toMatch(/targets/);
  });

  it('names a bad field', () => {
    const b = body(1);
    (b.targets[0]!.checks[0] as any).httpStatus = 600;
    expect(v.explain(b)).toMatch(/httpStatus/);
    (b.targets[0]!.checks[0] as any).httpStatus = 200;
    (b.targets[0]!.checks[0] as any).family = 5;
    expect(v.explain(b)).toMatch(/family/);
  });
});
