import {
  SAMPLE_INTERVAL_MS,
  STABLE_MIN_MS,
  STABLE_SLICES,
  STABLE_TOLERANCE,
  WARMUP_AGREE_SLICES,
  WARMUP_AGREE_TOLERANCE,
  WARMUP_SLICE_MS,
} from '../spec.js';
import { percentile, trimmedMean } from './basic.js';

/**
 * Throughput statistics of a speed-test direction (DESIGN.md §3, docs/methodology.md). Pure: the
 * probe samples, these functions only compute. Every series is cumulative application bytes
 * against time in ms, times non-decreasing.
 */

/** Cumulative bytes observed at time t (ms). */
export interface ByteSample {
  t: number;
  bytes: number;
}

/**
 * Cumulative bytes at time t, linearly interpolated between samples. Before the first sample the
 * value is the first sample's, after the last the last's; an empty series is 0.
 */
export function bytesAt(samples: readonly ByteSample[], t: number): number {
  if (samples.length === 0) return 0;
  const first = samples[0] as ByteSample;
  if (t <= first.t) return first.bytes;
  const last = samples[samples.length - 1] as ByteSample;
  if (t >= last.t) return last.bytes;
  // Binary search for the first sample at or after t.
  let lo = 1;
  let hi = samples.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((samples[mid] as ByteSample).t < t) lo = mid + 1;
    else hi = mid;
  }
  const b = samples[lo] as ByteSample;
  const a = samples[lo - 1] as ByteSample;
  return b.t === a.t ? b.bytes : a.bytes + ((b.bytes - a.bytes) * (t - a.t)) / (b.t - a.t);
}

/** Rates (bits/s) of consecutive `sliceMs` slices from `fromMs`, up to `toMs` or the last sample. */
export function sliceRates(
  samples: readonly ByteSample[],
  sliceMs: number,
  fromMs = 0,
  toMs = Number.POSITIVE_INFINITY,
): number[] {
  const out: number[] = [];
  if (samples.length < 2 || !(sliceMs > 0)) return out;
  const last = samples[samples.length - 1] as ByteSample;
  const end = Math.min(toMs, last.t);
  for (let i = 0; ; i++) {
    const a = fromMs + i * sliceMs;
    const b = a + sliceMs;
    if (b > end + 1e-9) break;
    out.push(((bytesAt(samples, b) - bytesAt(samples, a)) * 8 * 1000) / sliceMs);
  }
  return out;
}

/** True when every value lies within `tolerance` × mean of the values' mean (and the mean is > 0). */
function agree(rates: readonly number[], tolerance: number): boolean {
  if (rates.length === 0) return false;
  const m = rates.reduce((s, v) => s + v, 0) / rates.length;
  return m > 0 && rates.every((r) => Math.abs(r - m) <= tolerance * m);
}

/**
 * End of warm-up, ms since the direction started: the earlier of `maxWarmupMs` and the end of the
 * first run of three adjacent 500 ms slices whose rates agree within 10 % of their mean. The run
 * may start at any multiple of `stepMs` (the sampling interval), so a steady transfer ends its
 * warm-up at 1.5 s; a download's cap is 1.5 s, so the early rule matters for uploads (cap 3 s)
 * and for longer caps.
 */
export function warmupEnd(samples: readonly ByteSample[], maxWarmupMs: number, stepMs = SAMPLE_INTERVAL_MS): number {
  const span = WARMUP_SLICE_MS * WARMUP_AGREE_SLICES;
  const last = samples[samples.length - 1];
  if (!last || samples.length < 2) return maxWarmupMs;
  const first = (samples[0] as ByteSample).t;
  for (let start = first; start + span < maxWarmupMs + first && start + span <= last.t; start += stepMs) {
    if (agree(sliceRates(samples, WARMUP_SLICE_MS, start, start + span), WARMUP_AGREE_TOLERANCE)) {
      return start + span - first;
    }
  }
  return maxWarmupMs;
}

export interface ThroughputSummary {
  /** Goodput after warm-up, bits/s: the headline. */
  bps: number;
  /** Warm-up discarded from the start, ms. */
  warmupMs: number;
  /** Ookla-legacy trimmed mean: 20 slices of the whole transfer, fastest 10 % and slowest 30 % dropped. */
  trimmedMeanBps: number;
  /** p90 of 500 ms rates after warm-up. */
  p90Bps: number;
  /** Total bytes, warm-up included. */
  bytes: number;
  /** From the first to the last sample, ms. */
  durationMs: number;
}

/**
 * Summarise a direction from its cumulative byte series (times relative to its first sample).
 * The headline is (bytes after warm-up) × 8 / (seconds after warm-up), no overhead factor. A
 * transfer shorter than twice its warm-up keeps its second half. Empty or zero-length series give 0.
 */
export function summariseThroughput(samples: readonly ByteSample[], maxWarmupMs: number): ThroughputSummary {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || samples.length < 2 || last.t <= first.t) {
    return {
      bps: 0,
      warmupMs: 0,
      trimmedMeanBps: 0,
      p90Bps: 0,
      bytes: last ? last.bytes - (first?.bytes ?? 0) : 0,
      durationMs: 0,
    };
  }
  const duration = last.t - first.t;
  const warm = Math.min(warmupEnd(samples, maxWarmupMs), duration / 2);
  const bps = ((last.bytes - bytesAt(samples, first.t + warm)) * 8 * 1000) / (duration - warm);
  const slices = sliceRates(samples, duration / 20, first.t, last.t);
  const after = sliceRates(samples, WARMUP_SLICE_MS, first.t + warm, last.t);
  return {
    bps,
    warmupMs: warm,
    trimmedMeanBps: slices.length ? trimmedMean(slices, 0.3, 0.1) : bps,
    p90Bps: after.length ? percentile(after, 0.9) : bps,
    bytes: last.bytes - first.bytes,
    durationMs: duration,
  };
}

/**
 * Metered-profile stop rule (RPM draft's stability rule): once at least `minMs` have run, the last
 * `slices` whole 500 ms rates have a population standard deviation ≤ `tolerance` × their mean.
 */
export function isStable(
  samples: readonly ByteSample[],
  minMs = STABLE_MIN_MS,
  slices = STABLE_SLICES,
  tolerance = STABLE_TOLERANCE,
): boolean {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.t - first.t < minMs) return false;
  const end = first.t + Math.floor((last.t - first.t) / WARMUP_SLICE_MS) * WARMUP_SLICE_MS;
  const from = end - slices * WARMUP_SLICE_MS;
  if (from < first.t) return false;
  const rates = sliceRates(samples, WARMUP_SLICE_MS, from, end);
  if (rates.length < slices) return false;
  const m = rates.reduce((s, v) => s + v, 0) / rates.length;
  if (!(m > 0)) return false;
  const sd = Math.sqrt(rates.reduce((s, v) => s + (v - m) ** 2, 0) / rates.length);
  return sd <= tolerance * m;
}

/**
 * Sum several cumulative series (each on the same absolute clock, each counting from 0 before its
 * first sample) onto one grid: samples every `stepMs` from `fromMs` to `toMs`, times relative to
 * `fromMs`, plus a final sample exactly at `toMs`. Used for uploads, where every stream's request
 * reports its own series on the server's clock.
 */
export function sumSeries(
  series: readonly (readonly ByteSample[])[],
  fromMs: number,
  toMs: number,
  stepMs = SAMPLE_INTERVAL_MS,
): ByteSample[] {
  if (!(toMs > fromMs) || !(stepMs > 0)) return [];
  const total = (t: number) => {
    let b = 0;
    for (const s of series) {
      const f = s[0];
      if (!f || t < f.t) continue;
      b += t === f.t ? f.bytes : bytesAt(s, t);
    }
    return b;
  };
  const out: ByteSample[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) out.push({ t: t - fromMs, bytes: total(t) });
  out.push({ t: toMs - fromMs, bytes: total(toMs) });
  return out;
}

/** Rate over the trailing `windowMs` of a series, bits/s (live progress); 0 when undefined. */
export function recentRate(samples: readonly ByteSample[], windowMs = WARMUP_SLICE_MS): number {
  const b = samples[samples.length - 1];
  if (!b || samples.length < 2) return 0;
  const from = Math.max((samples[0] as ByteSample).t, b.t - windowMs);
  return b.t > from ? ((b.bytes - bytesAt(samples, from)) * 8 * 1000) / (b.t - from) : 0;
}
