import { MAX_CLOCK_SKEW_MS, RESULT_FLAGS, TIME_FLOOR_MS } from '@hatang/shared';

/** The flags stored with a result (shared RESULT_FLAGS; docs/statistics.md "Flags"). */
export function resultFlags(r: {
  trusted: boolean;
  wallAt: number;
  receivedAt: number;
  skewMs: number | undefined;
  agentLimited: boolean;
}): number {
  let f = 0;
  if (!r.trusted) {
    f |= RESULT_FLAGS.TIME_UNTRUSTED;
    if (r.wallAt < TIME_FLOOR_MS || r.wallAt > r.receivedAt + MAX_CLOCK_SKEW_MS) f |= RESULT_FLAGS.TIME_IMPLAUSIBLE;
  } else if (r.skewMs !== undefined && Math.abs(r.skewMs) > MAX_CLOCK_SKEW_MS) {
    f |= RESULT_FLAGS.CLOCK_SKEW;
  }
  if (r.agentLimited) f |= RESULT_FLAGS.AGENT_LIMITED;
  return f;
}
