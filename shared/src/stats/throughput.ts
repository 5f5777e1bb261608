import { WARMUP_AGREE_SLICES, WARMUP_AGREE_TOLERANCE, WARMUP_SLICE_MS } from '../spec.js';
import { percentile, trimmedMean } from './basic.js';

/** Cumulative bytes observed at time t (ms since the direction started). */
export interface ByteSample {
  t: number;
  bytes: number;
}

/** Rates (bits/s) of consecutive fixed-length slices of a cumulative byte series. */
export function sliceRates(
  samples: readonly ByteSample[],
  sliceMs: number,
  fromMs = 0,
  toMs = Number.POSITIVE_INFINITY,
): number[] {
  const out: number[] = [];
  if (samples.length < 2) return out;
  const last = samples[samples.length - 1] as ByteSample;
  const end = Math.min(toMs, last.t);
  for (let a = fromMs; a + sliceMs <= end + 1e-9; a += sliceMs) {
    const b = a + sliceMs;
    out.push(((bytesAt(samples, b) - bytesAt(samples, a)) * 8 * 1000) / sliceMs);
  }
  return out;
}

/** Cumulative bytes at time t, linearly interpolated between samples. */
export function bytesAt(samples: readonly ByteSample[], t: number): number {
  if (samples.length === 0) return 0;
  const first = samples[0] as ByteSample;
  if (t <= first.t) return first.bytes;
  for (let i = 1; i < samples.length; i++) {
    const b = samples[i] as ByteSample;
    if (t <= b.t) {
      const a = samples[i - 1] as ByteSample;
      return b.t === a.t ? b.bytes : a.bytes + ((b.bytes - a.bytes) * (t - a.t)) / (b.t - a.t);
    }
  }
  return (samples[samples.length - 1] as ByteSample).bytes;
}

/**
 * End of warm-up, ms: the earlier of `maxWarmupMs` and the end of the first run of
 * `WARMUP_AGREE_SLICES` consecutive 500 ms slices whose rates agree within 10 % of their mean.
 */
export function warmupEnd(samples: readonly ByteSample[], maxWarmupMs: number): number {
  const rates = sliceRates(samples, WARMUP_SLICE_MS, 0, maxWarmupMs + WARMUP_SLICE_MS * WARMUP_AGREE_SLICES);
  for (let i = 0; i + WARMUP_AGREE_SLICES <= rates.length; i++) {
    const end = (i + WARMUP_AGREE_SLICES) * WARMUP_SLICE_MS;
    if (end >= maxWarmupMs) break;
    const run = rates.slice(i, i + WARMUP_AGREE_SLICES);
    const m = run.reduce((s, v) => s + v, 0) / run.length;
    if (m > 0 && run.every((r) => Math.abs(r - m) <= WARMUP_AGREE_TOLERANCE * m)) return end;
  }
  return maxWarmupMs;
}

export interface ThroughputSummary {
  /** Goodput after warm-up, bits/s: the headline. */
  bps: number;
  warmupMs: number;
  /** Ookla-legacy trimmed mean over 20 slices of the whole transfer. */
  trimmedMeanBps: number;
  /** p90 of 500 ms rates after warm-up. */
  p90Bps: number;
  /** Total bytes, warm-up included. */
  bytes: number;
  durationMs: number;
}

/** Summarise a direction from its cumulative byte series (pure; sampling is the probe's job). */
export function summariseThroughput(samples: readonly ByteSample[], maxWarmupMs: number): ThroughputSummary {
  const last = samples[samples.length - 1];
  if (!last || samples.length < 2 || last.t <= 0) {
    return { bps: 0, warmupMs: 0, trimmedMeanBps: 0, p90Bps: 0, bytes: last?.bytes ?? 0, durationMs: last?.t ?? 0 };
  }
  // A transfer shorter than twice the warm-up keeps its second half.
  const warm = Math.min(warmupEnd(samples, maxWarmupMs), last.t / 2);
  const bps = ((last.bytes - bytesAt(samples, warm)) * 8 * 1000) / (last.t - warm);
  const twentieth = last.t / 20;
  const slices = sliceRates(samples, twentieth, 0, last.t);
  const after = sliceRates(samples, WARMUP_SLICE_MS, warm, last.t);
  return {
    bps,
    warmupMs: warm,
    trimmedMeanBps: slices.length ? trimmedMean(slices, 0.3, 0.1) : bps,
    p90Bps: after.length ? percentile(after, 0.9) : bps,
    bytes: last.bytes,
    durationMs: last.t,
  };
}

/**
 * Metered-profile stop rule (RPM draft): after at least `minMs`, the last four 500 ms rates have a
 * standard deviation ≤ 5 % of their mean.
 */
export function isStable(samples: readonly ByteSample[], minMs = 3_000, slices = 4, tolerance = 0.05): boolean {
  const last = samples[samples.length - 1];
  if (!last || last.t < minMs) return false;
  const end = Math.floor(last.t / WARMUP_SLICE_MS) * WARMUP_SLICE_MS;
  const from = end - slices * WARMUP_SLICE_MS;
  if (from < 0) return false;
  const rates = sliceRates(samples, WARMUP_SLICE_MS, from, end);
  if (rates.length < slices) return false;
  const m = rates.reduce((s, v) => s + v, 0) / rates.length;
  if (m <= 0) return false;
  const sd = Math.sqrt(rates.reduce((s, v) => s + (v - m) ** 2, 0) / rates.length);
  return sd <= tolerance * m;
}
