import type { LatencyStats, LoadedLatency } from '../schemas/results.js';
import { interquartileMean, jitter, mean, median, min, percentile, stdDev } from './basic.js';

/**
 * Latency statistics (DESIGN.md §3 Latency, docs/methodology.md). Pure; RTTs in ms, in the order
 * they were measured (jitter depends on the order).
 */

/** Round to a microsecond: enough for the wire, and stable in JSON. */
function us(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/**
 * Idle latency summary: min, median (headline), mean, p90, jitter (mean |Δ| of consecutive
 * samples, Cloudflare) and population standard deviation (i-Speed's "ping variance").
 * Undefined for no samples: there is no honest figure to report.
 */
export function latencyStats(rtts: readonly number[]): LatencyStats | undefined {
  if (rtts.length === 0) return undefined;
  return {
    samples: rtts.length,
    minMs: us(min(rtts)),
    medianMs: us(median(rtts)),
    meanMs: us(mean(rtts)),
    p90Ms: us(percentile(rtts, 0.9)),
    jitterMs: us(jitter(rtts)),
    stdDevMs: us(stdDev(rtts)),
  };
}

/**
 * Latency under load: median, interquartile mean (Ookla) and the increase of the median over the
 * idle median (negative when the loaded median is lower, which happens on an idle-noisy line).
 * Undefined for no samples; the increase is 0 when no idle median is known.
 */
export function loadedLatency(rtts: readonly number[], idleMedianMs: number | undefined): LoadedLatency | undefined {
  if (rtts.length === 0) return undefined;
  const m = median(rtts);
  return {
    samples: rtts.length,
    medianMs: us(m),
    iqmMs: us(interquartileMean(rtts)),
    increaseMs: us(idleMedianMs === undefined || !Number.isFinite(idleMedianMs) ? 0 : m - idleMedianMs),
  };
}

/** Responsiveness in round trips per minute (RPM draft): 60 000 / RTT ms; undefined for RTT ≤ 0. */
export function rpm(rttMs: number | undefined): number | undefined {
  if (rttMs === undefined || !(rttMs > 0) || !Number.isFinite(rttMs)) return undefined;
  return Math.round(60_000 / rttMs);
}
