import { REPORT_TZ_OFFSET_MS } from './spec.js';

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

const DAY_MS = 86_400_000;

/** Monday 00:00 of ISO week 1 of `year`, as ms on a clock shifted to local time (UTC fields = local). */
function week1MondayLocal(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  return jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS;
}

export interface IsoWeek {
  /** ISO week-numbering year (may differ from the calendar year in the first and last days). */
  year: number;
  /** 1–53. */
  week: number;
  /** 'YYYY-Www', e.g. '2025-W07'. */
  key: string;
}

/** ISO 8601 week of an instant, in Asia/Ho_Chi_Minh (UTC+7, no daylight saving time). */
export function isoWeekOf(ms: number): IsoWeek {
  const local = ms + REPORT_TZ_OFFSET_MS;
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  const weekday = (new Date(dayStart).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = dayStart + (3 - weekday) * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - week1MondayLocal(year)) / (7 * DAY_MS)) + 1;
  return { year, week, key: `${year}-W${String(week).padStart(2, '0')}` };
}

/**
 * The instants a week key covers: [startMs, endMs), Monday 00:00 to the next Monday 00:00 in
 * Asia/Ho_Chi_Minh. Undefined when the key is not 'YYYY-Www' or the year has no such week.
 */
export function isoWeekRange(key: string): { startMs: number; endMs: number } | undefined {
  const m = /^(\d{4})-W(\d{2})$/.exec(key);
  if (!m) return undefined;
  const year = Number(m[1]);
  const week = Number(m[2]);
  const weeks = isoWeekOf(Date.UTC(year, 11, 28, 12) - REPORT_TZ_OFFSET_MS).week;
  if (week < 1 || week > weeks) return undefined;
  const startMs = week1MondayLocal(year) + (week - 1) * 7 * DAY_MS - REPORT_TZ_OFFSET_MS;
  return { startMs, endMs: startMs + 7 * DAY_MS };
}

/** The week before a week key ('2025-W01' → '2024-W52'). Undefined for an invalid key. */
export function previousIsoWeek(key: string): string | undefined {
  const r = isoWeekRange(key);
  return r ? isoWeekOf(r.startMs - 1).key : undefined;
}
