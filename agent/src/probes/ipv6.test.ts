import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
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
