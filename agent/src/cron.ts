import { HatangError } from '@hatang/shared';
import { createTask, type ParsedFields, parse, type ScheduledTask, validateDetailed } from 'node-cron';

/**
 * Cron expressions read in a time zone, with node-cron doing the parsing, validation and the final
 * match. node-cron's own runner reads the real clock (`new Date()`, `setTimeout`) and keeps a
 * timer per task; the agent's scheduler instead asks "when is the next match after t?" here and
 * arms one timer on an injectable clock, so tests drive time by hand and no run is ever fired
 * twice when the wall clock steps.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** No expression is searched further ahead than this (4 years and a day cover every leap day). */
const HORIZON_MS = 4 * 366 * DAY;

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Zones with one offset all year, computed without ICU: formatting dates in a time zone through
 * Intl maps ICU's zone data into memory (~8 MB of the daemon's resident set on x64), and Vietnam
 * has kept UTC+7 without daylight saving since 1975. Other zones go through Intl.
 */
const FIXED_ZONES: Readonly<Record<string, number>> = {
  'Asia/Ho_Chi_Minh': 7 * HOUR,
  'Asia/Saigon': 7 * HOUR,
  'Asia/Bangkok': 7 * HOUR,
  'Asia/Phnom_Penh': 7 * HOUR,
  'Asia/Vientiane': 7 * HOUR,
  UTC: 0,
  'Etc/UTC': 0,
  'Etc/GMT': 0,
};

/** The fixed offset of `tz` in ms, or undefined when it needs the zone database. */
export function fixedOffset(tz: string): number | undefined {
  if (tz in FIXED_ZONES) return FIXED_ZONES[tz];
  // POSIX-style Etc/GMT±N has the sign inverted: Etc/GMT-7 is UTC+7.
  const m = /^Etc\/GMT([+-])(\d{1,2})$/.exec(tz);
  if (m && Number(m[2]) <= 14) return (m[1] === '-' ? 1 : -1) * Number(m[2]) * HOUR;
  return undefined;
}

/** Throws a config error naming the zone when it is not an IANA time zone this Node knows. */
export function checkTimeZone(tz: string, key = 'schedule.timezone'): void {
  if (fixedOffset(tz) !== undefined) return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new HatangError('HATANG_ERR_CONFIG', `${key}: "${tz}" is not a known IANA time zone`, {
      hint: 'Use a name like Asia/Ho_Chi_Minh.',
    });
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    checkTimeZone(tz);
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Calendar fields of instant `t` in zone `tz`. */
export function localParts(t: number, tz: string): LocalParts {
  const fixed = fixedOffset(tz);
  if (fixed !== undefined) {
    const d = new Date(t + fixed);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
    };
  }
  const out: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(t)) out[p.type] = p.value;
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour) % 24,
    minute: Number(out.minute),
    second: Number(out.second),
    weekday: WEEKDAYS[out.weekday ?? ''] ?? 0,
  };
}

/** Offset of `tz` from UTC at instant `t`, ms (Asia/Ho_Chi_Minh: +7 h, no daylight saving). */
export function zoneOffset(t: number, tz: string): number {
  const p = localParts(t, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/** The instant of local midnight starting the calendar day (y, m, d) in `tz`. */
export function localMidnight(year: number, month: number, day: number, tz: string): number {
  const guess = Date.UTC(year, month - 1, day);
  const first = guess - zoneOffset(guess, tz);
  // Re-check at the candidate: daylight-saving zones may have a different offset there.
  return guess - zoneOffset(first, tz);
}

/**
 * Move to `boundary` (a local day or month start computed from local fields), landing an hour
 * early when that is still ahead: in a daylight-saving zone a 25-hour day would otherwise skip
 * the first hour of the next one. Always moves forward.
 */
function stepTo(t: number, boundary: number): number {
  return boundary - HOUR > t ? boundary - HOUR : Math.max(boundary, t + 1000);
}

/** Smallest value in `allowed` greater than `v`. */
function nextAllowed(allowed: readonly number[], v: number): number | undefined {
  let best: number | undefined;
  for (const a of allowed) if (a > v && (best === undefined || a < best)) best = a;
  return best;
}

export class Cron {
  readonly expr: string;
  readonly timezone: string;
  readonly #fields: ParsedFields;
  readonly #task: ScheduledTask;
  readonly #numericDays: boolean;

  /** `key` names the config key in error messages. */
  constructor(expr: string, timezone: string, key = 'cron') {
    checkTimeZone(timezone);
    const v = validateDetailed(expr);
    if (!v.valid) {
      const why = v.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      throw new HatangError('HATANG_ERR_CONFIG', `${key}: "${expr}" is not a valid cron expression (${why})`, {
        hint: 'Five fields: minute hour day-of-month month day-of-week, e.g. "0 */2 * * *" (docs/agent.md).',
      });
    }
    this.expr = expr;
    this.timezone = timezone;
    this.#fields = parse(expr);
    this.#task = createTask(expr, () => undefined, { timezone, name: `hatang:${key}` });
    this.#numericDays = [...this.#fields.dayOfMonth, ...this.#fields.dayOfWeek].every((x) => typeof x === 'number');
  }

  /**
   * True when instant `t` (whole second) matches. node-cron decides, except in a fixed-offset zone
   * with plain numeric fields, where the same test (every field, day of month AND day of week, as
   * node-cron does) runs on the shifted UTC fields without loading ICU.
   */
  matches(t: number): boolean {
    if (this.#numericDays && fixedOffset(this.timezone) !== undefined) {
      const p = localParts(t, this.timezone);
      const f = this.#fields;
      return (
        f.second.includes(p.second) &&
        f.minute.includes(p.minute) &&
        f.hour.includes(p.hour) &&
        f.dayOfMonth.includes(p.day) &&
        f.month.includes(p.month) &&
        f.dayOfWeek.includes(p.weekday)
      );
    }
    return this.#task.match(new Date(t));
  }

  /** The first match strictly after `after`, ms; undefined when none within 4 years (e.g. 30 February). */
  next(after: number): number | undefined {
    const f = this.#fields;
    let t = Math.floor(after / 1000) * 1000 + 1000;
    const limit = after + HORIZON_MS;
    while (t <= limit) {
      const p = localParts(t, this.timezone);
      const intoDay = ((p.hour * 60 + p.minute) * 60 + p.second) * 1000;
      const dayStart = t - intoDay;
      if (!f.month.includes(p.month)) {
        const days = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
        t = stepTo(t, dayStart - (p.day - 1) * DAY + days * DAY);
        continue;
      }
      if (this.#numericDays && !(f.dayOfMonth.includes(p.day) && f.dayOfWeek.includes(p.weekday))) {
        t = stepTo(t, dayStart + DAY);
        continue;
      }
      const hourStart = t - (p.minute * 60 + p.second) * 1000;
      if (!f.hour.includes(p.hour)) {
        const h = nextAllowed(f.hour, p.hour);
        // One hour short of the target when it is further than the next hour: a daylight-saving
        // change in between would otherwise carry the jump past it.
        t = h === undefined ? stepTo(t, dayStart + DAY) : hourStart + Math.max(1, h - p.hour - 1) * HOUR;
        continue;
      }
      if (!f.minute.includes(p.minute)) {
        const m = nextAllowed(f.minute, p.minute);
        t = m === undefined ? hourStart + HOUR : hourStart + m * 60_000;
        continue;
      }
      if (!f.second.includes(p.second)) {
        const sec = nextAllowed(f.second, p.second);
        t = sec === undefined ? hourStart + (p.minute + 1) * 60_000 : t + (sec - p.second) * 1000;
        continue;
      }
      if (this.matches(t)) return t;
      t += 1000;
    }
    return undefined;
  }

  /** Typical gap between two matches after `at`, ms (for "ran recently" and budget halving). */
  periodAfter(at: number): number {
    const a = this.next(at);
    const b = a === undefined ? undefined : this.next(a);
    return a === undefined || b === undefined ? DAY : b - a;
  }

  /** Release node-cron's registry entry. */
  destroy(): void {
    void this.#task.destroy();
  }
}
