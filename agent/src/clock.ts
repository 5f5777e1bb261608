import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ClockStamp } from '@hatang/shared';

/**
 * The agent's two clocks (DESIGN.md §3 "Time"): the wall clock, which may be wrong on a Pi
 * without RTC, and (boot id, uptime), which is always right within one boot.
 */
export interface Clock {
  /** Wall clock, ms since epoch. */
  now(): number;
  /** Boot id and ms since boot, monotonic. */
  stamp(): ClockStamp;
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // Not Linux: a random id per process start is still consistent for re-basing.
    return `proc-${randomUUID()}`;
  }
}

function readUptimeMs(): number {
  try {
    const first = readFileSync('/proc/uptime', 'utf8').split(' ')[0];
    const s = Number(first);
    if (Number.isFinite(s)) return s * 1000;
  } catch {
    /* fall through */
  }
  return 0;
}

/** The system clock: boot id from /proc, uptime extended with performance.now() (monotonic). */
export function systemClock(): Clock {
  const bootId = readBootId();
  const uptimeAtStart = readUptimeMs();
  const perfAtStart = performance.now();
  return {
    now: () => Date.now(),
    stamp: () => ({ bootId, uptimeMs: Math.round(uptimeAtStart + (performance.now() - perfAtStart)) }),
  };
}
