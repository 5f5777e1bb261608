import { HatangError } from '../errors.js';
import { REPORT_TZ_OFFSET_MS } from '../spec.js';

/**
 * Reporting periods in Asia/Ho_Chi_Minh (UTC+7, no daylight saving time): local days, ISO 8601
 * weeks (Monday to Sunday; week 1 holds the year's first Thursday) and calendar months. Pure:
 * every function takes the instant it needs; nothing reads the clock.
 *
 * A *local day number* counts days since 1970-01-01 in local time (day 0 began at
 * 1969-12-31T17:00:00Z). Rollups are keyed by it.
 */

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

export type PeriodKind = 'week' | 'month';
export const PERIOD_KINDS: readonly PeriodKind[] = ['week', 'month'];

export interface IsoWeek {
  /** ISO week-numbering year: the calendar year of the week's Thursday. */
  year: number;
  /** 1–53. */
  week: number;
  /** 'YYYY-Www', e.g. '2026-W48'. */
  key: string;
}

export interface Month {
  year: number;
  /** 1–12. */
  month: number;
  /** 'YYYY-MM', e.g. '2026-11'. */
  key: string;
}

export interface Period {
  kind: PeriodKind;
  /** '2026-W48' or '2026-11'. */
  key: string;
  /** Year whose plan target applies: the ISO year for weeks, the calendar year for months. */
  year: number;
  /** First instant, ms since epoch (local midnight). */
  startMs: number;
  /** First instant after the period, ms since epoch (exclusive). */
  endMs: number;
  /** First local day number. */
  firstDay: number;
  /** Last local day number (inclusive). */
  lastDay: number;
}

/** Local (Asia/Ho_Chi_Minh) day number of an instant. */
export function localDayOf(ms: number): number {
  return Math.floor((ms + REPORT_TZ_OFFSET_MS) / DAY_MS);
}

/** First instant (ms since epoch) of a local day. */
export function dayStartMs(day: number): number {
  return day * DAY_MS - REPORT_TZ_OFFSET_MS;
}

/** Local hour of day, 0–23. */
export function localHourOf(ms: number): number {
  const inDay = (((ms + REPORT_TZ_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  return Math.floor(inDay / HOUR_MS);
}

/** Local calendar date of a day number: { year, month 1–12, day 1–31, weekday 1 = Monday … 7 = Sunday }. */
export function dateOfDay(day: number): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(day * DAY_MS);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    weekday: ((d.getUTCDay() + 6) % 7) + 1,
  };
}

/** Day number of a local calendar date (month 1–12). */
export function dayOfDate(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / DAY_MS);
}

/** 'YYYY-MM-DD' of a local day number. */
export function dayKey(day: number): string {
  const d = dateOfDay(day);
  return `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function weekKey(year: number, week: number): string {
  return `${pad(year, 4)}-W${pad(week, 2)}`;
}

export function monthKey(year: number, month: number): string {
  return `${pad(year, 4)}-${pad(month, 2)}`;
}

/** Number of ISO weeks in a year: 53 when 1 January is a Thursday, or a Wednesday in a leap year. */
export function weeksInYear(year: number): number {
  const jan1 = dateOfDay(dayOfDate(year, 1, 1)).weekday;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return jan1 === 4 || (leap && jan1 === 3) ? 53 : 52;
}

/** The ISO week of a local day number. */
export function isoWeekOfDay(day: number): IsoWeek {
  const { weekday } = dateOfDay(day);
  const thursday = day - weekday + 4;
  const year = dateOfDay(thursday).year;
  const week = Math.floor((thursday - dayOfDate(year, 1, 1)) / 7) + 1;
  return { year, week, key: weekKey(year, week) };
}

/** The ISO week of an instant, in Vietnam local time. */
export function isoWeekOf(ms: number): IsoWeek {
  return isoWeekOfDay(localDayOf(ms));
}

/** Local day number of the Monday of an ISO week (4 January is always in week 1). */
export function weekFirstDay(year: number, week: number): number {
  const jan4 = dayOfDate(year, 1, 4);
  return jan4 - (dateOfDay(jan4).weekday - 1) + (week - 1) * 7;
}

/** The calendar month of an instant, in Vietnam local time. */
export function monthOf(ms: number): Month {
  const d = dateOfDay(localDayOf(ms));
  return { year: d.year, month: d.month, key: monthKey(d.year, d.month) };
}

const WEEK_RE = /^(\d{4})-W(\d{2})$/;
const MONTH_RE = /^(\d{4})-(\d{2})$/;

/** Parse 'YYYY-Www'; throws HATANG_ERR_VALIDATION naming the problem. */
export function parseWeekKey(key: string): IsoWeek {
  const m = WEEK_RE.exec(key);
  if (!m) throw new HatangError('HATANG_ERR_VALIDATION', `week "${clip(key)}" must look like 2026-W48`);
  const year = Number(m[1]);
  const week = Number(m[2]);
  if (year < 1970 || week < 1 || week > weeksInYear(year)) {
    throw new HatangError(
      'HATANG_ERR_OUT_OF_RANGE',
      `week ${clip(key)} does not exist: ${year} has weeks 01–${weeksInYear(year)}`,
    );
  }
  return { year, week, key: weekKey(year, week) };
}

/** Parse 'YYYY-MM'; throws HATANG_ERR_VALIDATION naming the problem. */
export function parseMonthKey(key: string): Month {
  const m = MONTH_RE.exec(key);
  if (!m) throw new HatangError('HATANG_ERR_VALIDATION', `month "${clip(key)}" must look like 2026-11`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (year < 1970 || month < 1 || month > 12) {
    throw new HatangError('HATANG_ERR_OUT_OF_RANGE', `month ${clip(key)} does not exist`);
  }
  return { year, month, key: monthKey(year, month) };
}

function clip(s: string): string {
  return s.length > 20 ? `${s.slice(0, 20)}…` : s;
}

function fromDays(kind: PeriodKind, key: string, year: number, firstDay: number, lastDay: number): Period {
  return { kind, key, year, firstDay, lastDay, startMs: dayStartMs(firstDay), endMs: dayStartMs(lastDay + 1) };
}

export function weekPeriod(year: number, week: number): Period {
  const first = weekFirstDay(year, week);
  return fromDays('week', weekKey(year, week), year, first, first + 6);
}

export function monthPeriod(year: number, month: number): Period {
  const first = dayOfDate(year, month, 1);
  const next = month === 12 ? dayOfDate(year + 1, 1, 1) : dayOfDate(year, month + 1, 1);
  return fromDays('month', monthKey(year, month), year, first, next - 1);
}

/** The period of a kind that contains an instant. */
export function periodOf(kind: PeriodKind, ms: number): Period {
  if (kind === 'week') {
    const w = isoWeekOf(ms);
    return weekPeriod(w.year, w.week);
  }
  const m = monthOf(ms);
  return monthPeriod(m.year, m.month);
}

/** Parse a period key of the given kind ('2026-W48' for weeks, '2026-11' for months). */
export function parsePeriod(kind: PeriodKind, key: string): Period {
  if (kind === 'week') {
    const w = parseWeekKey(key);
    return weekPeriod(w.year, w.week);
  }
  const m = parseMonthKey(key);
  return monthPeriod(m.year, m.month);
}

/** The period `n` steps after `p` (negative: before). */
export function shiftPeriod(p: Period, n: number): Period {
  if (p.kind === 'week') {
    const w = isoWeekOfDay(p.firstDay + 7 * n);
    return weekPeriod(w.year, w.week);
  }
  const [y, m] = p.key.split('-').map(Number) as [number, number];
  const idx = y * 12 + (m - 1) + n;
  return monthPeriod(Math.floor(idx / 12), (idx % 12) + 1);
}

/** `count` consecutive periods ending with `last`, oldest first. */
export function periodsEndingAt(last: Period, count: number): Period[] {
  const out: Period[] = [];
  for (let i = count - 1; i >= 0; i--) out.push(shiftPeriod(last, -i));
  return out;
}

/** The week containing a local day number. */
export function weekOfDay(day: number): Period {
  const w = isoWeekOfDay(day);
  return weekPeriod(w.year, w.week);
}
