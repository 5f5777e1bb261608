/**
 * Re-basing measurement times (DESIGN.md §3 "Time"). A Raspberry Pi has no real-time clock, so
 * its wall clock may be wrong until NTP syncs; its uptime since boot is always right. Each result
 * carries its wall time plus (bootId, uptimeMs); each batch carries (bootId, uptimeMs) at send
 * time. The collector knows when it received the batch on its own clock, so for results of the
 * same boot:  started = receivedAt − (batch.uptimeMs − result.uptimeMs).
 * The offset (receivedAt − batch.uptimeMs) of each boot is remembered, so results of an earlier
 * boot sent later are re-based too. Transit time makes the estimate late by at most the request's
 * duration; keeping the smallest offset seen per boot tightens it.
 */

export interface ClockStamp {
  bootId: string;
  uptimeMs: number;
}

export interface RebaseInput {
  /** The result's own stamp. */
  result: ClockStamp;
  /** The result's wall-clock start, ms since epoch, as the agent believed. */
  wallAt: number;
  /** The batch stamp at send time. */
  batch: ClockStamp;
  /** When the collector received the batch, ms since epoch, collector clock. */
  receivedAt: number;
  /** A remembered offset for the result's boot, when one is known. */
  knownOffsetMs?: number | undefined;
}

export interface Rebased {
  /** Best estimate of the start, ms since epoch on the collector clock. */
  startedAt: number;
  /** True when derived from uptime; false when only the agent's wall clock was available. */
  trusted: boolean;
  /** Agent wall clock minus the re-based time (positive: the agent clock ran ahead). */
  skewMs: number | undefined;
}

/** Offset of a boot on the collector clock, from a batch stamp. */
export function bootOffset(batch: ClockStamp, receivedAt: number): number {
  return receivedAt - batch.uptimeMs;
}

export function rebase(i: RebaseInput): Rebased {
  let offset: number | undefined;
  if (i.result.bootId === i.batch.bootId && i.result.uptimeMs <= i.batch.uptimeMs) {
    offset = bootOffset(i.batch, i.receivedAt);
    if (i.knownOffsetMs !== undefined) offset = Math.min(offset, i.knownOffsetMs);
  } else if (i.result.bootId !== i.batch.bootId && i.knownOffsetMs !== undefined) {
    offset = i.knownOffsetMs;
  }
  if (offset === undefined) return { startedAt: i.wallAt, trusted: false, skewMs: undefined };
  const startedAt = Math.round(offset + i.result.uptimeMs);
  // A re-based time in the future of the receipt means the stamps contradict each other.
  if (startedAt > i.receivedAt) return { startedAt: i.wallAt, trusted: false, skewMs: undefined };
  return { startedAt, trusted: true, skewMs: i.wallAt - startedAt };
}
