import { describe, expect, it } from 'vitest';
import { latencyStats, loadedLatency, rpm } from './latency.js';

describe('latencyStats (idle latency)', () => {
  it('reports min, median, mean, p90, jitter and standard deviation', () => {
    expect(latencyStats([10, 12, 11, 13, 14])).toEqual({
      samples: 5,
      minMs: 10,
      medianMs: 12,
      meanMs: 12,
      p90Ms: 13.6,
      jitterMs: 1.5, // |2|+|1|+|2|+|1| / 4
      stdDevMs: Math.round(Math.SQRT2 * 1000) / 1000,
    });
  });
  it('is undefined for no samples (no honest figure)', () => {
    expect(latencyStats([])).toBeUndefined();
  });
  it('one sample: every figure is that sample, jitter and spread 0', () => {
    expect(latencyStats([7.25])).toEqual({
      samples: 1,
      minMs: 7.25,
      medianMs: 7.25,
      meanMs: 7.25,
      p90Ms: 7.25,
      jitterMs: 0,
      stdDevMs: 0,
    });
  });
  it('ties give zero jitter and spread', () => {
    expect(latencyStats([5, 5, 5, 5])).toMatchObject({ medianMs: 5, jitterMs: 0, stdDevMs: 0 });
  });
  it('an outlier moves the mean and p90 but barely the median', () => {
    const s = latencyStats([10, 10, 11, 10, 11, 10, 500]);
    expect(s?.medianMs).toBe(10);
    expect(s?.meanMs).toBeGreaterThan(80);
    expect(s?.p90Ms).toBeGreaterThan(100);
  });
  it('jitter depends on order, the other figures do not', () => {
    const a = latencyStats([1, 2, 3, 4]);
    const b = latencyStats([1, 4, 2, 3]);
    expect(a?.jitterMs).toBe(1);
    expect(b?.jitterMs).toBe(2);
    expect(a?.medianMs).toBe(b?.medianMs);
  });
});

describe('loadedLatency', () => {
  it('reports median, interquartile mean and the increase over idle', () => {
    expect(loadedLatency([30, 40, 50, 60, 70, 80, 90, 1000], 10)).toEqual({
      samples: 8,
      medianMs: 65,
      iqmMs: 65, // mean of 50, 60, 70, 80
      increaseMs: 55,
    });
  });
  it('IQM ignores a few huge outliers that move the mean', () => {
    const l = loadedLatency([20, 21, 22, 23, 24, 25, 26, 5000], 20);
    expect(l?.iqmMs).toBe(23.5);
  });
  it('is undefined for no samples', () => {
    expect(loadedLatency([], 10)).toBeUndefined();
  });
  it('one sample; ties; a negative increase; unknown idle gives 0', () => {
    expect(loadedLatency([42], 40)).toEqual({ samples: 1, medianMs: 42, iqmMs: 42, increaseMs: 2 });
    expect(loadedLatency([8, 8, 8], 10)).toMatchObject({ medianMs: 8, iqmMs: 8, increaseMs: -2 });
    expect(loadedLatency([8, 9], undefined)?.increaseMs).toBe(0);
    expect(loadedLatency([8, 9], Number.NaN)?.increaseMs).toBe(0);
  });
});

describe('rpm', () => {
  it.each([
    [100, 600],
    [60, 1000],
    [7, 8571],
    [0.5, 120_000],
  ])('%d ms → %d round trips per minute', (ms, want) => {
    expect(rpm(ms)).toBe(want);
  });
  it('is undefined for no RTT, zero, negative or non-finite', () => {
    expect(rpm(undefined)).toBeUndefined();
    expect(rpm(0)).toBeUndefined();
    expect(rpm(-3)).toBeUndefined();
    expect(rpm(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});
