import { describe, expect, it } from 'vitest';
import {
  appInfoBps,
  measurementBps,
  mlabBackoffMs,
  mlabNextTestDelayMs,
  nextMessageSize,
  poissonIntervalMs,
  retransPct,
  standardNormal,
} from './ndt7.js';
import {
  MLAB_SCHEDULE_MAX_MS,
  MLAB_SCHEDULE_MIN_MS,
  NDT7_INITIAL_MESSAGE_BYTES,
  NDT7_MAX_SCALED_MESSAGE_BYTES,
} from './ndt7-spec.js';

describe('ndt7 message-size scaling', () => {
  it.each([
    { name: 'start, nothing sent', size: 8192, sent: 0, next: 8192 },
    { name: 'just under 16×', size: 8192, sent: 16 * 8192 - 1, next: 8192 },
    { name: 'exactly 16× (tie doubles)', size: 8192, sent: 16 * 8192, next: 16384 },
    { name: 'far past 16× doubles once per message', size: 8192, sent: 1e9, next: 16384 },
    { name: 'at the cap', size: 1 << 20, sent: 1e12, next: 1 << 20 },
    { name: 'a larger current size is brought to the cap', size: 1 << 22, sent: 0, next: 1 << 20 },
  ])('$name', ({ size, sent, next }) => {
    expect(nextMessageSize(size, sent)).toBe(next);
  });

  it('reaches 2^20 and never passes it when a sender follows the rule', () => {
    let size = NDT7_INITIAL_MESSAGE_BYTES;
    let sent = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      sent += size;
      size = nextMessageSize(size, sent);
      seen.add(size);
      expect(size).toBeLessThanOrEqual(NDT7_MAX_SCALED_MESSAGE_BYTES);
    }
    expect(size).toBe(NDT7_MAX_SCALED_MESSAGE_BYTES);
    // Every power of two from 2^13 to 2^20 is used on the way.
    expect([...seen].sort((a, b) => a - b)).toEqual([13, 14, 15, 16, 17, 18, 19, 20].map((e) => 2 ** e));
  });
});

describe('Poisson measurement interval', () => {
  it.each([
    { u: 0, ms: 25 },
    { u: 0.5, ms: 250 * Math.LN2 },
    { u: 1 - 1e-12, ms: 625 },
    { u: -1, ms: 25 },
  ])('u=$u → $ms ms', ({ u, ms }) => {
    expect(poissonIntervalMs(u)).toBeCloseTo(ms, 6);
  });

  it('averages near 250 ms once clamped (within the clamp effect)', () => {
    const n = 20_000;
    let total = 0;
    for (let i = 0; i < n; i++) total += poissonIntervalMs((i + 0.5) / n);
    // Clamping to [25, 625] lifts the short tail and cuts the long one: the mean stays 230–260 ms.
    expect(total / n).toBeGreaterThan(230);
    expect(total / n).toBeLessThan(260);
  });
});

describe('rates from measurements', () => {
  it('AppInfo: 8·bytes/µs', () => {
    expect(appInfoBps({ ElapsedTime: 1_000_000, NumBytes: 1_250_000 })).toBe(10_000_000);
    expect(appInfoBps({ ElapsedTime: 0, NumBytes: 5 })).toBe(0);
    expect(appInfoBps(undefined)).toBe(0);
  });

  it('prefers TCPInfo (BytesAcked down, BytesReceived up), falls back to AppInfo', () => {
    const m = {
      AppInfo: { ElapsedTime: 2_000_000, NumBytes: 3_000_000 },
      TCPInfo: { ElapsedTime: 2_000_000, BytesAcked: 2_500_000, BytesReceived: 1_000_000 },
    };
    expect(measurementBps(m, 'download')).toBe(10_000_000);
    expect(measurementBps(m, 'upload')).toBe(4_000_000);
    expect(measurementBps({ AppInfo: m.AppInfo }, 'download')).toBe(12_000_000);
    expect(measurementBps({ TCPInfo: { ElapsedTime: 1 } }, 'upload')).toBeUndefined();
    expect(measurementBps(undefined, 'upload')).toBeUndefined();
  });

  it('retransmission share', () => {
    expect(retransPct({ ElapsedTime: 1, BytesSent: 1000, BytesRetrans: 20 })).toBe(2);
    expect(retransPct({ ElapsedTime: 1, BytesSent: 0, BytesRetrans: 0 })).toBeUndefined();
    expect(retransPct({ ElapsedTime: 1 })).toBeUndefined();
  });
});

describe('M-Lab scheduling', () => {
  it.each([
    { u: 0, ms: MLAB_SCHEDULE_MIN_MS },
    { u: 0.5, ms: 21_600_000 * Math.LN2 },
    { u: 0.9999999, ms: MLAB_SCHEDULE_MAX_MS },
  ])('next test after u=$u → $ms ms', ({ u, ms }) => {
    expect(mlabNextTestDelayMs(u)).toBeCloseTo(ms, 3);
  });

  it('backs off 60, 120, 240, 480, 960 s with 5 % deviation, then gives up', () => {
    expect([0, 1, 2, 3, 4].map((a) => mlabBackoffMs(a, 0))).toEqual([60_000, 120_000, 240_000, 480_000, 960_000]);
    expect(mlabBackoffMs(0, 1)).toBe(63_000);
    expect(mlabBackoffMs(4, -2)).toBe(864_000);
    expect(mlabBackoffMs(5, 0)).toBeUndefined();
    expect(mlabBackoffMs(0, -100)).toBe(0);
  });

  it('standard normal draws have mean ≈ 0 and deviation ≈ 1', () => {
    const zs: number[] = [];
    for (let i = 0; i < 100; i++)
      for (let j = 0; j < 100; j++) zs.push(standardNormal((i + 0.5) / 100, (j + 0.5) / 100));
    const m = zs.reduce((a, b) => a + b, 0) / zs.length;
    const sd = Math.sqrt(zs.reduce((a, b) => a + (b - m) ** 2, 0) / zs.length);
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(sd).toBeGreaterThan(0.95);
    expect(sd).toBeLessThan(1.05);
  });
});
