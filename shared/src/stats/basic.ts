/**
 * Pure descriptive statistics. No I/O, no clock, no globals (STYLE.md §11).
 * Conventions: every function takes a read-only array and never mutates it; an empty input gives
 * NaN (there is no honest number to report), never 0.
 */

function sorted(values: readonly number[]): number[] {
  return values.slice().sort((a, b) => a - b);
}

export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : sum(values) / values.length;
}

/**
 * Percentile by linear interpolation between closest ranks (Hyndman–Fan type 7, the default of
 * numpy, R and Excel's PERCENTILE.INC). `p` is in [0, 1].
 */
export function percentileOfSorted(s: readonly number[], p: number): number {
  if (s.length === 0) return Number.NaN;
  if (p <= 0) return s[0] as number;
  if (p >= 1) return s[s.length - 1] as number;
  const rank = p * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(sorted(values), p);
}

/** Median: for an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** Population standard deviation. */
export function stdDev(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const m = mean(values);
  let acc = 0;
  for (const v of values) acc += (v - m) ** 2;
  return Math.sqrt(acc / values.length);
}

/** Jitter as Cloudflare reports it: mean absolute difference of consecutive samples, in order. */
export function jitter(values: readonly number[]): number {
  if (values.length < 2) return values.length === 1 ? 0 : Number.NaN;
  let acc = 0;
  for (let i = 1; i < values.length; i++) acc += Math.abs((values[i] as number) - (values[i - 1] as number));
  return acc / (values.length - 1);
}

/**
 * Mean after dropping a share of the lowest and highest values. Ookla's legacy method slices a
 * transfer into 20 parts and drops the fastest 10 % and slowest 30 %: `trimmedMean(rates, 0.3, 0.1)`.
 * Counts dropped are floor(n × share) on each side; at least one value is always kept.
 */
export function trimmedMean(values: readonly number[], dropLow: number, dropHigh: number): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  let lo = Math.floor(s.length * dropLow);
  let hi = s.length - Math.floor(s.length * dropHigh);
  if (hi <= lo) {
    lo = Math.min(lo, s.length - 1);
    hi = lo + 1;
  }
  return mean(s.slice(lo, hi));
}

/** Interquartile mean: the mean of the values between the 25th and 75th percentiles (Ookla loaded latency). */
export function interquartileMean(values: readonly number[]): number {
  return trimmedMean(values, 0.25, 0.25);
}

/** Smallest and largest, NaN for empty input. */
export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}
export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}
