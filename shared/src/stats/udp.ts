import { jitter, median, min, percentile } from './basic.js';

/**
 * UDP packet-loss train summary (DESIGN.md §3, docs/methodology.md). Pure. `rtts[i]` is the RTT
 * in ms of packet i (in send order), or undefined when its echo never came (in time).
 */
export interface UdpSummary {
  sent: number;
  received: number;
  /** Lost share, percent, 0–100, rounded to 0.01. 0 when nothing was sent. */
  lossPct: number;
  rttMinMs?: number;
  rttMedianMs?: number;
  rttP90Ms?: number;
  /** Mean |Δ| of consecutive answered RTTs, in send order. */
  jitterMs?: number;
}

function us(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export function udpSummary(rtts: readonly (number | undefined)[]): UdpSummary {
  const answered = rtts.filter((r): r is number => r !== undefined && Number.isFinite(r));
  const sent = rtts.length;
  const received = answered.length;
  const lossPct = sent === 0 ? 0 : Math.round(((sent - received) / sent) * 10_000) / 100;
  if (received === 0) return { sent, received, lossPct };
  return {
    sent,
    received,
    lossPct,
    rttMinMs: us(min(answered)),
    rttMedianMs: us(median(answered)),
    rttP90Ms: us(percentile(answered, 0.9)),
    jitterMs: us(jitter(answered)),
  };
}
