import type { AgentConfig } from '@hatang/shared';
import { localMidnight, localParts } from './cron.js';
import type { Outbox } from './outbox/outbox.js';
import type { GateDecision } from './scheduler.js';

/**
 * Monthly data budget for metered lines (DESIGN.md §3): bytes are counted per test kind and per
 * plan month (from `resetDay`, local time). From `halveAtPercent` the heavy kinds (speed, ndt7)
 * run half as often; from `pauseAtPercent` they pause until the plan resets. Light kinds
 * (latency, IPv6, UDP) go on. Pushing results and pulling config count too (`uplink`, `config`).
 */

export type BudgetConfig = AgentConfig['budget'];

export type BudgetLevel = 'unlimited' | 'normal' | 'halved' | 'paused';

export interface BudgetState {
  level: BudgetLevel;
  /** Limit for the month, bytes; 0 = none. */
  limitBytes: number;
  usedBytes: number;
  /** usedBytes / limitBytes × 100, or 0 without a limit. */
  percent: number;
  /** Current plan month [start, end), ms. */
  periodStart: number;
  periodEnd: number;
  byKind: Record<string, { bytes: number; tests: number }>;
  heavyKinds: string[];
}

const MB = 1_000_000;
/** Plan months of usage kept. */
const KEEP_PERIODS = 24;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Start of the plan month containing `now`: local midnight of `resetDay`, in `tz`. */
export function periodStart(now: number, resetDay: number, tz: string): number {
  const p = localParts(now, tz);
  let y = p.year;
  let m = p.month;
  if (p.day < resetDay) {
    m -= 1;
    if (m === 0) {
      m = 12;
      y -= 1;
    }
  }
  const start = localMidnight(y, m, Math.min(resetDay, daysIn(y, m)), tz);
  // `now` within the reset day but before its local midnight cannot happen; guard anyway.
  return start <= now ? start : periodStart(start - 1, resetDay, tz);
}

/** End of the plan month starting at `start` (the next reset). */
export function periodEnd(start: number, resetDay: number, tz: string): number {
  const p = localParts(start, tz);
  const y = p.month === 12 ? p.year + 1 : p.year;
  const m = p.month === 12 ? 1 : p.month + 1;
  return localMidnight(y, m, Math.min(resetDay, daysIn(y, m)), tz);
}

/** The usage-table key of a plan month: its local start date. */
export function periodKey(start: number, tz: string): string {
  const p = localParts(start, tz);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

export class Budget {
  readonly #outbox: Outbox;
  #cfg: BudgetConfig;
  #tz: string;
  readonly #s;

  constructor(outbox: Outbox, cfg: BudgetConfig, timezone: string) {
    this.#outbox = outbox;
    this.#cfg = cfg;
    this.#tz = timezone;
    const db = outbox.db;
    this.#s = {
      add: db.prepare(
        `INSERT INTO usage (period, kind, bytes, tests) VALUES (?, ?, ?, ?)
         ON CONFLICT (period, kind) DO UPDATE SET bytes = bytes + excluded.bytes, tests = tests + excluded.tests`,
      ),
      period: db.prepare('SELECT kind, bytes, tests FROM usage WHERE period = ?'),
      trim: db.prepare(
        'DELETE FROM usage WHERE period NOT IN (SELECT DISTINCT period FROM usage ORDER BY period DESC LIMIT ?)',
      ),
    };
  }

  configure(cfg: BudgetConfig, timezone: string): void {
    this.#cfg = cfg;
    this.#tz = timezone;
  }

  /** Count bytes a test (or a push) moved over the line. */
  record(kind: string, bytes: number, now: number, tests = 1): void {
    if (!(bytes >= 0)) return;
    const key = periodKey(periodStart(now, this.#cfg.resetDay, this.#tz), this.#tz);
    this.#outbox.db.transaction(() => {
      this.#s.add.run(key, kind, Math.round(bytes), tests);
      this.#s.trim.run(KEEP_PERIODS);
    })();
  }

  state(now: number): BudgetState {
    const start = periodStart(now, this.#cfg.resetDay, this.#tz);
    const end = periodEnd(start, this.#cfg.resetDay, this.#tz);
    const byKind: BudgetState['byKind'] = {};
    let used = 0;
    for (const r of this.#s.period.all(periodKey(start, this.#tz)) as Array<{
      kind: string;
      bytes: number;
      tests: number;
    }>) {
      byKind[r.kind] = { bytes: r.bytes, tests: r.tests };
      used += r.bytes;
    }
    const limit = this.#cfg.monthlyMegabytes * MB;
    const percent = limit > 0 ? (used / limit) * 100 : 0;
    const level: BudgetLevel =
      limit === 0
        ? 'unlimited'
        : percent >= this.#cfg.pauseAtPercent
          ? 'paused'
          : percent >= this.#cfg.halveAtPercent
            ? 'halved'
            : 'normal';
    return {
      level,
      limitBytes: limit,
      usedBytes: used,
      percent,
      periodStart: start,
      periodEnd: end,
      byKind,
      heavyKinds: [...this.#cfg.heavyKinds],
    };
  }

  isHeavy(kind: string): boolean {
    return this.#cfg.heavyKinds.includes(kind);
  }

  /**
   * The scheduler's gate: light kinds always run. Heavy kinds pause at `pauseAtPercent` (or when
   * their usual size would take the month past it) and, from `halveAtPercent`, skip every run that
   * comes less than 1.5 periods after the last one — half the frequency.
   */
  gate(kind: string, info: { periodMs: number; lastStartedAt: number | undefined; now: number }): GateDecision {
    if (!this.isHeavy(kind)) return { run: true };
    const s = this.state(info.now);
    if (s.level === 'unlimited') return { run: true };
    const until = new Date(s.periodEnd).toISOString();
    const pct = s.percent.toFixed(0);
    if (s.level === 'paused') {
      return { run: false, reason: `data budget ${pct}% used: ${kind} tests paused until ${until}` };
    }
    const k = s.byKind[kind];
    const typical = k && k.tests > 0 ? k.bytes / k.tests : 0;
    if (s.usedBytes + typical > (s.limitBytes * this.#cfg.pauseAtPercent) / 100) {
      return {
        run: false,
        reason: `data budget ${pct}% used: one more ${kind} test (~${Math.round(typical / MB)} MB) would pass the limit; paused until ${until}`,
      };
    }
    if (
      s.level === 'halved' &&
      info.lastStartedAt !== undefined &&
      info.now - info.lastStartedAt < 1.5 * info.periodMs
    ) {
      return { run: false, reason: `data budget ${pct}% used: ${kind} tests run half as often` };
    }
    return { run: true };
  }
}
