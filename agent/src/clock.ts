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

/** Timers the daemon arms (monotonic, like setTimeout); injectable so tests drive time by hand. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A clock that also arms timers: what the scheduler, uplink loop and daemon run on. */
export type DaemonClock = Clock & Timers;

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, Math.min(ms, 2_147_483_647))),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The system clock with real timers. */
export function systemDaemonClock(): DaemonClock {
  return { ...systemClock(), ...systemTimers };
}

/**
 * A clock whose wall time is off by `offsetMs` while boot id and uptime stay true: a Pi without
 * RTC before NTP synced. Used to test that the collector re-bases such results.
 */
export function skewedClock(base: Clock, offsetMs: number): Clock {
  return { now: () => base.now() + offsetMs, stamp: () => base.stamp() };
}
