import type { Result } from '@hatang/shared';
import { describe, expect, it } from 'vitest';
import { describeResult, formatProgress } from './format.js';

describe('formatProgress', () => {
  it('shows phase, a bar, percent and Mbit/s when the probe reports them', () => {
    expect(formatProgress({ phase: 'download', fraction: 0.5, bps: 38.2e6 }, 10)).toBe(
      'download   █████░░░░░  50 %   38.2 Mbit/s',
    );
  });
  it('clamps the fraction and shows only what is known', () => {
    expect(formatProgress({ phase: 'upload', fraction: 1.7 }, 4)).toBe('upload     ████ 100 %');
    expect(formatProgress({ phase: 'select', message: 'a, b' })).toBe('select     a, b');
  });
});

describe('describeResult', () => {
  const base = {
    id: '018f0000-0000-7000-8000-000000000000',
    startedAt: '2025-01-01T00:00:00.000Z',
    clock: { bootId: 'b', uptimeMs: 1 },
    durationMs: 25_000,
    network: { access: 'fixed', family: 4 },
    server: { id: 'tp', url: 'http://198.18.1.2:8080' },
    agentVersion: '0.1.0',
  } as const;
  it('summarises a speed result for a person', () => {
    const text = describeResult({
      ...base,
      kind: 'speed',
      status: 'ok',
      bytesUsed: 60_000_000,
      speed: {
        profile: 'fixed',
        familyPreference: 'auto',
        download: {
          bps: 38.2e6,
          bytes: 47e6,
          durationMs: 10_000,
          warmupMs: 1500,
          streams: 8,
          stopReason: 'window',
          loaded: { samples: 30, medianMs: 14.7, iqmMs: 14.6, increaseMs: 14 },
        },
        upload: {
          bps: 9.5e6,
          bytes: 12e6,
          durationMs: 10_000,
          warmupMs: 2000,
          streams: 4,
          stopReason: 'stable',
          serverMeasured: true,
        },
        idle: { samples: 19, minMs: 0.5, medianMs: 0.7, meanMs: 0.8, p90Ms: 1.1, jitterMs: 0.1, stdDevMs: 0.2 },
        rpm: 2881,
      },
    } as Result);
    expect(text).toContain('speed ok · 2025-01-01T00:00:00.000Z · IPv4 · server tp (http://198.18.1.2:8080)');
    expect(text).toMatch(/download +38\.2 Mbit\/s {3}\(8 streams, 10\.0 s, warm-up 1\.5 s left out, full window\)/);
    expect(text).toMatch(
      /upload +9\.5 Mbit\/s {3}\(4 streams, 10\.0 s, as received by the server, stable, stopped early\)/,
    );
    expect(text).toContain('under load 14.7 ms downloading (+14.0 ms) · 2881 RPM');
    expect(text).toContain('data used 60.0 MB');
  });
  it('summarises UDP loss and errors', () => {
    const text = describeResult({
      ...base,
      kind: 'udp',
      status: 'error',
      bytesUsed: 100,
      error: { code: 'NO_ECHO', phase: 'udp', message: 'no echo came back' },
      udp: { sent: 200, received: 0, lossPct: 100 },
    } as Result);
    expect(text).toContain('error NO_ECHO during udp: no echo came back');
    expect(text).toContain('packet loss 100.0 % (200 sent, 0 answered)');
  });
});
