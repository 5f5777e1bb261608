import { PLAN_TARGETS_MBPS } from '@hatang/shared';
import { describe, expect, it } from 'vitest';
import { loadCollectorConfig } from './config.js';

describe('collector config: targets, ingest, storage, geography', () => {
  it('defaults to the plan targets and documented limits', () => {
    const c = loadCollectorConfig({ env: {} });
    expect(c.targets).toEqual(PLAN_TARGETS_MBPS);
    expect(c.ingest).toEqual({ ratePerMinute: 60, burst: 30 });
    expect(c.storage).toEqual({ rawRetentionDays: 400, pruneIntervalMinutes: 60 });
    expect(c.geography.loadDefaultUnits).toBe(true);
    expect(c.stats).toEqual({ warmUpWeeks: 53, warmUpMonths: 13, refreshDelayMs: 2000 });
  });

  it('merges a later year over the plan and takes environment overrides', () => {
    const c = loadCollectorConfig({
      env: { HATANG_INGEST_BURST: '5', HATANG_STORAGE_RAW_RETENTION_DAYS: '0' },
      overrides: { targets: { 2026: { fixed: 100 } } },
    });
    expect(c.targets['2026']).toEqual({ fixed: 100 });
    expect(c.targets['2025']).toEqual({ fixed: 90, mobile: 40 });
    expect(c.ingest.burst).toBe(5);
    expect(c.storage.rawRetentionDays).toBe(0);
  });

  it.each([
    { name: 'a year that is not 4 digits', o: { targets: { 26: { fixed: 1 } } }, re: /targets/ },
    { name: 'a negative target', o: { targets: { 2026: { fixed: -1 } } }, re: /targets\.2026\.fixed must be >= 0/ },
    {
      name: 'an unknown access type',
      o: { targets: { 2026: { satellite: 10 } } },
      re: /targets\.2026\.satellite is not allowed/,
    },
    { name: 'a zero burst', o: { ingest: { burst: 0 } }, re: /ingest\.burst must be >= 1/ },
    { name: 'an unknown storage key', o: { storage: { keepDays: 3 } }, re: /storage\.keepDays is not allowed/ },
    {
      name: 'a Retry-After minimum above its maximum',
      o: { load: { retryAfterMinS: 90, retryAfterMaxS: 60 } },
      re: /load\.retryAfterMinS \(90\) is above load\.retryAfterMaxS \(60\)/,
    },
    { name: 'a listen backlog of 0', o: { server: { backlog: 0 } }, re: /server\.backlog must be >= 1/ },
  ])('refuses $name, naming the key', ({ o, re }) => {
    expect(() => loadCollectorConfig({ env: {}, overrides: o })).toThrow(re);
  });
});
