import { type AgentStatus, MAX_CLOCK_SKEW_MS, rebase, TIME_FLOOR_MS } from '@hatang/shared';
import type { AgentStatusRow } from '../storage/repo.js';

/**
 * The row stored for an envelope's `agentStatus` (docs/protocol.md §1.1 "Agent status"). The
 * oldest waiting result's start is re-based exactly like a result's (shared/src/time.ts): from its
 * boot id and uptime against the batch's stamp or the boot's remembered offset, else its wall
 * time — and, like a result flagged TIME_IMPLAUSIBLE, a wall time before TIME_FLOOR_MS or past
 * the receipt plus MAX_CLOCK_SKEW_MS is no time at all (null), not a 56-year backlog. A time a
 * little past the receipt (agent clock ahead) is clamped to the receipt: nothing waited less than 0.
 */
export function agentStatusRow(
  s: AgentStatus,
  batch: { bootId: string; uptimeMs: number },
  receivedAt: number,
  knownOffset: (bootId: string) => number | undefined,
): AgentStatusRow {
  let oldestQueuedAt: number | null = null;
  let oldestTrusted: boolean | null = null;
  const o = s.oldestQueued;
  if (s.queued > 0 && o) {
    const wallAt = Date.parse(o.startedAt);
    const t = rebase({ result: o.clock, wallAt, batch, receivedAt, knownOffsetMs: knownOffset(o.clock.bootId) });
    if (t.trusted || (wallAt >= TIME_FLOOR_MS && wallAt <= receivedAt + MAX_CLOCK_SKEW_MS)) {
      oldestQueuedAt = Math.min(t.startedAt, receivedAt);
      oldestTrusted = t.trusted;
    }
  }
  return {
    reportedAt: receivedAt,
    queued: s.queued,
    oldestQueuedAt,
    oldestTrusted,
    deadLetters: s.deadLetters,
    dropped: s.dropped,
  };
}
