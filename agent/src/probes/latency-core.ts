import {
  IDLE_LATENCY_REQUESTS,
  jitter,
  type LatencyStats,
  mean,
  median,
  min,
  percentile,
  stdDev,
} from '@hatang/shared';
import { type Dispatcher, request } from 'undici';

/** Summarise RTT samples (ms, in order) into the wire's LatencyStats. */
export function latencyStats(rtts: readonly number[]): LatencyStats {
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    samples: rtts.length,
    minMs: r(min(rtts)),
    medianMs: r(median(rtts)),
    meanMs: r(mean(rtts)),
    p90Ms: r(percentile(rtts, 0.9)),
    jitterMs: r(jitter(rtts)),
    stdDevMs: r(stdDev(rtts)),
  };
}

/** One HTTP round trip to `${base}/speed/ping` on a warm connection, ms. */
export async function pingOnce(base: string, dispatcher: Dispatcher, signal: AbortSignal): Promise<number> {
  const t0 = performance.now();
  const res = await request(new URL('/speed/ping', base), {
    dispatcher,
    signal,
    headers: { 'cache-control': 'no-store' },
  });
  await res.body.dump();
  const t = performance.now() - t0;
  if (res.statusCode >= 400)
    throw Object.assign(new Error(`ping answered HTTP ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
  return t;
}

/** Idle latency: `count` sequential pings on one kept-open connection; the first (cold) is discarded. */
export async function idleLatency(
  base: string,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  count = IDLE_LATENCY_REQUESTS,
): Promise<number[]> {
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = await pingOnce(base, dispatcher, signal);
    if (i > 0) rtts.push(t);
  }
  return rtts;
}
