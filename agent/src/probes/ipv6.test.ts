import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../config.js';
import { ipv6TargetsOf } from './ipv6.js';

const env = { HATANG_COLLECTOR_URL: 'http://collector.hatang.test:8080', HATANG_STATE_DIR: '/tmp/x' };

describe('ipv6TargetsOf', () => {
  it('checks the collector first, then the named placeholders of the defaults', () => {
    expect(ipv6TargetsOf(loadConfig({ env }))).toEqual([
      { name: 'collector', url: 'http://collector.hatang.test:8080/healthz' },
      { name: 'cong-thong-tin-tinh', url: 'https://cong-thong-tin-tinh.invalid/' },
      { name: 'dich-vu-cong', url: 'https://dich-vu-cong.invalid/' },
    ]);
  });

  it('keeps a path prefix of the collector URL', () => {
    const c = loadConfig({ env: { ...env, HATANG_COLLECTOR_URL: 'https://province.hatang.test/hatang' } });
    expect(ipv6TargetsOf(c)[0]).toEqual({ name: 'collector', url: 'https://province.hatang.test/hatang/healthz' });
  });

  it('lets a configured "collector" replace the automatic one', () => {
    const c = loadConfig({ env });
    c.ipv6.targets = [
      { name: 'collector', url: 'https://v6.collector.hatang.test/healthz' },
      { name: 'portal', url: 'https://portal.hatang.test/' },
    ];
    expect(ipv6TargetsOf(c).map((t) => t.name)).toEqual(['collector', 'portal']);
  });
});

describe('ipv6 config limits', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({ env }).ipv6).toMatchObject({ timeoutMs: 15000, slowMs: 5000, attemptDelayMs: 250 });
  });

  it.each([
    ['HATANG_IPV6_TIMEOUT_MS', '100', 'ipv6.timeoutMs must be >= 500'],
    ['HATANG_IPV6_TIMEOUT_MS', '60001', 'ipv6.timeoutMs must be <= 60000'],
    ['HATANG_IPV6_SLOW_MS', '50', 'ipv6.slowMs must be >= 100'],
    ['HATANG_IPV6_ATTEMPT_DELAY_MS', '5000', 'ipv6.attemptDelayMs must be <= 2000'],
  ])('rejects %s=%s naming the key', (key, value, message) => {
    expect(() => loadConfig({ env: { ...env, [key]: value } })).toThrow(message);
  });

  it('takes at most 32 targets', () => {
    const c = loadConfig({ env });
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `t${i}`, url: `https://t${i}.hatang.test/` }));
    expect(validateConfig({ ...c, ipv6: { ...c.ipv6, targets: many(32) } }).ipv6.targets).toHaveLength(32);
    expect(() => validateConfig({ ...c, ipv6: { ...c.ipv6, targets: many(33) } })).toThrow('ipv6.targets must');
  });
});
