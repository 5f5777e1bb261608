import { describe, expect, it } from 'vitest';
import { bytesAt, isStable, sliceRates, summariseThroughput, warmupEnd } from './throughput.js';

/** Cumulative samples every 100 ms for a rate function r(t) in bits/s. */
function series(ms: number, rate: (t: number) => number) {
  const out = [{ t: 0, bytes: 0 }];
  let bytes = 0;
  for (let t = 100; t <= ms; t += 100) {
    bytes += (rate(t) / 8) * 0.1;
    out.push({ t, bytes });
  }
  return out;
}

describe('throughput', () => {
  it('interpolates cumulative bytes', () => {
    const s = [
      { t: 0, bytes: 0 },
      { t: 100, bytes: 1000 },
    ];
    expect(bytesAt(s, 50)).toBe(500);
    expect(bytesAt(s, 500)).toBe(1000);
    expect(bytesAt([], 5)).toBe(0);
  });

  it('slices a constant rate into equal slices', () => {
    const s = series(2000, () => 8e6);
    const r = sliceRates(s, 500);
    expect(r).toHaveLength(4);
    for (const v of r) expect(v).toBeCloseTo(8e6, 0);
  });

  it('ends warm-up early once three 500 ms rates agree within 10 %', () => {
    expect(
      warmupEnd(
        series(10_000, () => 50e6),
        1500,
      ),
    ).toBe(1500); // agreement at 1.5 s = the cap
    expect(
      warmupEnd(
        series(10_000, () => 50e6),
        3000,
      ),
    ).toBe(1500);
    // slow start: ramp for 2 s, then flat
    const ramp = series(10_000, (t) => (t < 2000 ? 10e6 + (t / 2000) * 40e6 : 50e6));
    // slices 15, 25, 35, 45, 50, 50 Mbit/s: 45/50/50 agree within 10 % at 3.0 s
    expect(warmupEnd(ramp, 4000)).toBe(3000);
    expect(warmupEnd(ramp, 3000)).toBe(3000);
  });

  it('headline discards the warm-up ramp', () => {
    const ramp = series(10_000, (t) => (t <= 1500 ? (t / 1500) * 100e6 : 100e6));
    const s = summariseThroughput(ramp, 1500);
    expect(s.bps / 1e6).toBeCloseTo(100, 3);
    expect(s.warmupMs).toBe(1500);
    // the naive average including the ramp is lower
    const naive = (s.bytes * 8) / 10;
    expect(naive).toBeLessThan(s.bps * 0.95);
    expect(s.p90Bps / 1e6).toBeCloseTo(100, 3);
  });

  it('handles empty and one-sample series', () => {
    expect(summariseThroughput([], 1500).bps).toBe(0);
    expect(summariseThroughput([{ t: 0, bytes: 0 }], 1500).bps).toBe(0);
  });

  it('stability rule needs 3 s and steady rates', () => {
    expect(isStable(series(2000, () => 10e6))).toBe(false);
    expect(isStable(series(3500, () => 10e6))).toBe(true);
    expect(isStable(series(4000, (t) => (Math.floor(t / 500) % 2 ? 5e6 : 15e6)))).toBe(false);
  });
});
