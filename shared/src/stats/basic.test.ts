import { describe, expect, it } from 'vitest';
import { interquartileMean, jitter, mean, median, percentile, stdDev, sum, trimmedMean } from './basic.js';

describe('basic statistics', () => {
  it.each([
    { name: 'empty', v: [], median: Number.NaN, mean: Number.NaN },
    { name: 'one sample', v: [7], median: 7, mean: 7 },
    { name: 'odd count', v: [3, 1, 2], median: 2, mean: 2 },
    { name: 'even count', v: [4, 1, 3, 2], median: 2.5, mean: 2.5 },
    { name: 'ties', v: [5, 5, 5, 1], median: 5, mean: 4 },
    { name: 'outlier', v: [10, 11, 12, 1000], median: 11.5, mean: 258.25 },
  ])('median and mean: $name', ({ v, median: m, mean: a }) => {
    expect(median(v)).toEqual(m);
    expect(mean(v)).toEqual(a);
  });

  it('does not mutate its input', () => {
    const v = [3, 1, 2];
    median(v);
    expect(v).toEqual([3, 1, 2]);
  });

  it('percentile interpolates (type 7)', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(v, 0.9)).toBeCloseTo(9.1, 10);
    expect(percentile(v, 0.1)).toBeCloseTo(1.9, 10);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 1)).toBe(10);
    expect(percentile([42], 0.9)).toBe(42);
    expect(percentile([], 0.9)).toBeNaN();
  });

  it('jitter is the mean absolute consecutive difference, in sample order', () => {
    expect(jitter([10, 12, 11, 15])).toBeCloseTo((2 + 1 + 4) / 3, 10);
    expect(jitter([5])).toBe(0);
    expect(jitter([])).toBeNaN();
  });

  it('population standard deviation', () => {
    expect(stdDev([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(stdDev([3])).toBe(0);
    expect(stdDev([])).toBeNaN();
  });

  it('Ookla trimmed mean drops slowest 30 % and fastest 10 % of 20 slices', () => {
    const slices = Array.from({ length: 20 }, (_, i) => i + 1); // 1..20
    // drop 6 lowest (1..6) and 2 highest (19, 20): mean of 7..18 = 12.5
    expect(trimmedMean(slices, 0.3, 0.1)).toBe(12.5);
    expect(trimmedMean([8], 0.3, 0.1)).toBe(8);
    expect(trimmedMean([], 0.3, 0.1)).toBeNaN();
  });

  it('interquartile mean ignores both tails', () => {
    expect(interquartileMean([1, 10, 11, 12, 13, 14, 15, 1000])).toBe(12.5);
    expect(sum([1, 2, 3])).toBe(6);
  });
});
