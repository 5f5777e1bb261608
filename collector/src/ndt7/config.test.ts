import { describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../config.js';
import { resolveNdt7Config } from './server.js';

describe('collector ndt7 config', () => {
  it('has the spec defaults', () => {
    expect(loadCollectorConfig({ env: {} }).ndt7).toEqual({
      enabled: true,
      maxConcurrent: 4,
      durationMs: 10_000,
      maxDurationMs: 15_000,
      requireToken: false,
      tokens: [],
    });
  });

  it('takes environment overrides', () => {
    const c = loadCollectorConfig({
      env: { HATANG_NDT7_MAX_CONCURRENT: '2', HATANG_NDT7_DURATION_MS: '5000', HATANG_NDT7_REQUIRE_TOKEN: 'true' },
    });
    expect(c.ndt7).toMatchObject({ maxConcurrent: 2, durationMs: 5000, requireToken: true });
  });

  it.each([
    [{ HATANG_NDT7_DURATION_MS: '20000' }, 'ndt7.durationMs must be <= 15000'],
    [{ HATANG_NDT7_MAX_DURATION_MS: '500' }, 'ndt7.maxDurationMs must be >= 1000'],
    [{ HATANG_NDT7_MAX_CONCURRENT: '0' }, 'ndt7.maxConcurrent must be >= 1'],
  ])('rejects %o naming the key', (env, message) => {
    expect(() => loadCollectorConfig({ env })).toThrow(message);
  });

  it('rejects a duration past the hard limit when the server starts', () => {
    expect(() => resolveNdt7Config({ durationMs: 12_000, maxDurationMs: 11_000 })).toThrow(
      'ndt7.durationMs (12000) must not exceed ndt7.maxDurationMs (11000)',
    );
    expect(resolveNdt7Config(undefined).durationMs).toBe(10_000);
  });
});
