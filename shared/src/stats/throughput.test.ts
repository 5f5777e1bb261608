import { describe, expect, it } from 'vitest';
import {
  type ByteSample,
  bytesAt,
  isStable,
  recentRate,
  sliceRates,
  summariseThroughput,
  sumSeries,
  warmupEnd,
} from './throughput.js';

/** Cumulative samples every `step` ms for a rate function r(t) in bits/s. */
function series(ms: number, rate: (t: number) => number, step = 100): ByteSample[] {
  const out = [{ t: 0, bytes: 0 }];
  let bytes = 0;
  for (let t = step; t <= ms + 1e-9; t += step) {
    bytes += (rate(t) / 8) * (step / 1000);
    out.push({ t, bytes });
  }
  return out;
}

describe('bytesAt', () => {
  const s = [
    { t: 0, bytes: 0 },
    { t: 100, bytes: 1000 },
    { t: 200, bytes: 1000 },
    { t: 300, bytes: 4000 },
  ];
  it.each([
    [-5, 0],
    [0, 0],
    [50, 500],
    [100, 1000],
    [150, 1000],
    [250, 2500],
    [300, 4000],
    [999, 4000],
  ])('at %d ms is %d bytes (interpolated, clamped)', (t, want) => {
    expect(bytesAt(s, t)).toBe(want);
  });
  it('is 0 for an empty series and the only value for one sample', () => {
    expect(bytesAt([], 5)).toBe(0);
    expect(bytesAt([{ t: 10, bytes: 7 }], 5)).toBe(7);
    expect(bytesAt([{ t: 10, bytes: 7 }], 50)).toBe(7);
  });
  it('takes the later value at a tie in time (a step)', () => {
    const step = [
      { t: 0, bytes: 0 },
      { t: 100, bytes: 0 },
      { t: 100, bytes: 500 },
      { t: 200, bytes: 500 },
    ];
    expect(bytesAt(step, 100)).toBe(0);
    expect(bytesAt(step, 150)).toBe(500);
  });
});

describe('sliceRates', () => {
  it('slices a constant rate into equal slices', () => {
    const r = sliceRates(
      series(2000, () => 8e6),
      500,
    );
    expect(r).toHaveLength(4);
    for (const v of r) expect(v).toBeCloseTo(8e6, 0);
  });
  it('honours from/to and drops a partial last slice', () => {
    expect(
      sliceRates(
        series(2000, () => 8e6),
        500,
        250,
      ),
    ).toHaveLength(3);
    expect(
      sliceRates(
        series(2000, () => 8e6),
        500,
        0,
        1200,
      ),
    ).toHaveLength(2);
  });
  it('is empty for empty, one-sample or zero-slice input', () => {
    expect(sliceRates([], 500)).toEqual([]);
    expect(sliceRates([{ t: 0, bytes: 0 }], 500)).toEqual([]);
    expect(
      sliceRates(
        series(1000, () => 1e6),
        0,
      ),
    ).toEqual([]);
  });
});

describe('warmupEnd', () => {
  it('a steady download ends warm-up at its 1.5 s cap (three slices need 1.5 s)', () => {
    expect(
      warmupEnd(
        series(10_000, () => 50e6),
        1500,
      ),
    ).toBe(1500);
  });
  it('a steady upload ends warm-up early, at 1.5 s, below its 3 s cap', () => {
    expect(
      warmupEnd(
        series(10_000, () => 50e6),
        3000,
      ),
    ).toBe(1500);
  });
  it('a ramp ends warm-up once three adjacent 500 ms rates agree, searched in 100 ms steps', () => {
    // 2 s linear ramp from 10 to 50 Mbit/s, then flat: [1.5,2.0] ≈ 45, then 50, 50 agree within 10 %
    const ramp = series(10_000, (t) => (t < 2000 ? 10e6 + (t / 2000) * 40e6 : 50e6));
    const end = warmupEnd(ramp, 4000);
    expect(end).toBeGreaterThan(1500);
    expect(end).toBeLessThanOrEqual(3000);
    expect(end % 100).toBe(0);
    expect(warmupEnd(ramp, 1500)).toBe(1500);
  });
  it('an outlier slice delays the end until three clean slices follow it', () => {
    const spike = series(10_000, (t) => (t > 500 && t <= 1000 ? 100e6 : 50e6));
    expect(warmupEnd(spike, 5000)).toBe(2500);
  });
  it('keeps the cap when nothing agrees, and for empty or one-sample series', () => {
    const saw = series(10_000, (t) => (Math.floor(t / 500) % 2 ? 10e6 : 30e6));
    expect(warmupEnd(saw, 3000)).toBe(3000);
    expect(warmupEnd([], 3000)).toBe(3000);
    expect(warmupEnd([{ t: 0, bytes: 0 }], 3000)).toBe(3000);
  });
  it('an idle link (zero rates) never ends warm-up early', () => {
    expect(
      warmupEnd(
        series(5000, () => 0),
        3000,
      ),
    ).toBe(3000);
  });
});

describe('summariseThroughput', () => {
  it('headline discards the warm-up ramp', () => {
    const ramp = series(10_000, (t) => (t <= 1500 ? (t / 1500) * 100e6 : 100e6));
    const s = summariseThroughput(ramp, 1500);
    expect(s.bps / 1e6).toBeCloseTo(100, 3);
    expect(s.warmupMs).toBe(1500);
    expect(s.durationMs).toBe(10_000);
    const naive = (s.bytes * 8) / 10;
    expect(naive).toBeLessThan(s.bps * 0.95);
    expect(s.p90Bps / 1e6).toBeCloseTo(100, 3);
  });
  it('is exactly bytes × 8 / seconds after warm-up, no overhead factor', () => {
    const s = summariseThroughput(
      series(10_000, () => 40e6),
      1500,
    );
    expect(s.bps).toBeCloseTo(40e6, 0);
    expect(s.bytes).toBeCloseTo(50e6, 0);
  });
  it('trimmed mean drops the fastest 10 % and slowest 30 % of 20 slices', () => {
    // 20 slices of 500 ms: 6 slow (10), 12 at 50, 2 fast (200) → mean of the 12 middle = 50
    const rate = (t: number) => (t <= 3000 ? 10e6 : t > 9000 ? 200e6 : 50e6);
    const s = summariseThroughput(series(10_000, rate), 1500);
    expect(s.trimmedMeanBps / 1e6).toBeCloseTo(50, 6);
  });
  it('p90 is the 90th percentile of 500 ms rates after warm-up', () => {
    const rate = (t: number) => (t > 9000 ? 100e6 : 10e6);
    const s = summariseThroughput(series(10_000, rate), 1500);
    // 17 slices after 1.5 s: 15 at 10, 2 at 100 → p90 (type 7) = 10 + 0.4 × 90 = 46
    expect(s.p90Bps / 1e6).toBeCloseTo(46, 6);
  });
  it('a transfer shorter than twice its warm-up keeps its second half', () => {
    const s = summariseThroughput(
      series(1000, () => 8e6),
      1500,
    );
    expect(s.warmupMs).toBe(500);
    expect(s.bps).toBeCloseTo(8e6, 0);
  });
  it('handles empty, one-sample and zero-length series with zeros', () => {
    expect(summariseThroughput([], 1500)).toMatchObject({ bps: 0, bytes: 0, durationMs: 0 });
    expect(summariseThroughput([{ t: 0, bytes: 0 }], 1500).bps).toBe(0);
    expect(
      summariseThroughput(
        [
          { t: 5, bytes: 0 },
          { t: 5, bytes: 100 },
        ],
        1500,
      ).bps,
    ).toBe(0);
  });
  it('works on series that do not start at 0 ms', () => {
    const shifted = series(10_000, () => 20e6).map((p) => ({ t: p.t + 5000, bytes: p.bytes + 1000 }));
    const s = summariseThroughput(shifted, 1500);
    expect(s.bps).toBeCloseTo(20e6, 0);
    expect(s.durationMs).toBe(10_000);
  });
});

describe('isStable (metered stop rule)', () => {
  it('needs at least 3 s', () => {
    expect(isStable(series(2900, () => 10e6))).toBe(false);
    expect(isStable(series(3000, () => 10e6))).toBe(true);
  });
  it('needs the last four 500 ms rates within 5 % standard deviation', () => {
    expect(isStable(series(4000, (t) => (Math.floor(t / 500) % 2 ? 5e6 : 15e6)))).toBe(false);
    // ±4 % alternation: sd = 4 % of the mean → stable; ±6 % → not
    expect(isStable(series(4000, (t) => (Math.floor((t - 1) / 500) % 2 ? 9.6e6 : 10.4e6)))).toBe(true);
    expect(isStable(series(4000, (t) => (Math.floor((t - 1) / 500) % 2 ? 9.4e6 : 10.6e6)))).toBe(false);
  });
  it('ignores an early outlier once it leaves the last four slices', () => {
    const early = (t: number) => (t < 1000 ? 100e6 : 10e6);
    expect(isStable(series(3000, early))).toBe(true);
    const late = (t: number) => (t > 2500 ? 100e6 : 10e6);
    expect(isStable(series(3000, late))).toBe(false);
  });
  it('takes its limits as arguments', () => {
    expect(
      isStable(
        series(2000, () => 10e6),
        2000,
      ),
    ).toBe(true);
    expect(
      isStable(
        series(4000, (t) => (Math.floor((t - 1) / 500) % 2 ? 9.4e6 : 10.6e6)),
        3000,
        4,
        0.1,
      ),
    ).toBe(true);
  });
  it('is false for empty, one-sample and idle series', () => {
    expect(isStable([])).toBe(false);
    expect(isStable([{ t: 5000, bytes: 0 }])).toBe(false);
    expect(isStable(series(5000, () => 0))).toBe(false);
  });
});

describe('sumSeries (uploads: server series of several streams)', () => {
  it('adds streams that start at different times, each 0 before its first sample', () => {
    const a = [
      { t: 1000, bytes: 100 },
      { t: 2000, bytes: 1100 },
    ];
    const b = [
      { t: 1500, bytes: 50 },
      { t: 2500, bytes: 1050 },
    ];
    const s = sumSeries([a, b], 1000, 2500, 500);
    expect(s).toEqual([
      { t: 0, bytes: 100 },
      { t: 500, bytes: 600 + 50 },
      { t: 1000, bytes: 1100 + 550 },
      { t: 1500, bytes: 1100 + 1050 },
    ]);
  });
  it('ends with a sample exactly at toMs', () => {
    const s = sumSeries(
      [
        [
          { t: 0, bytes: 0 },
          { t: 1000, bytes: 1000 },
        ],
      ],
      0,
      250,
      100,
    );
    expect(s.at(-1)).toEqual({ t: 250, bytes: 250 });
  });
  it('is empty for an empty span and sums nothing for no series', () => {
    expect(sumSeries([[{ t: 0, bytes: 5 }]], 100, 100)).toEqual([]);
    expect(sumSeries([], 0, 200, 100)).toEqual([
      { t: 0, bytes: 0 },
      { t: 100, bytes: 0 },
      { t: 200, bytes: 0 },
    ]);
  });
});

describe('recentRate', () => {
  it('is the rate over the trailing window', () => {
    expect(
      recentRate(
        series(3000, (t) => (t > 2000 ? 80e6 : 8e6)),
        500,
      ),
    ).toBeCloseTo(80e6, 0);
  });
  it('is 0 for empty and one-sample series', () => {
    expect(recentRate([])).toBe(0);
    expect(recentRate([{ t: 100, bytes: 100 }])).toBe(0);
  });
});
