import { describe, expect, it } from 'vitest';
import {
  dayKey,
  isoWeekOf,
  localDayOf,
  localHourOf,
  monthOf,
  monthPeriod,
  parsePeriod,
  parseWeekKey,
  periodOf,
  periodsEndingAt,
  shiftPeriod,
  weekPeriod,
  weeksInYear,
} from './periods.js';

const Z = (iso: string) => Date.parse(iso);

describe('ISO weeks in Vietnam local time (UTC+7)', () => {
  it.each([
    // instant (UTC)                 local time                    ISO week
    { at: '2026-11-22T16:59:59.999Z', local: 'Sun 2026-11-22 23:59', key: '2026-W47', year: 2026, week: 47 },
    { at: '2026-11-22T17:00:00.000Z', local: 'Mon 2026-11-23 00:00', key: '2026-W48', year: 2026, week: 48 },
    { at: '2026-11-29T16:59:59.999Z', local: 'Sun 2026-11-29 23:59', key: '2026-W48', year: 2026, week: 48 },
    { at: '2026-11-29T17:00:00.000Z', local: 'Mon 2026-11-30 00:00', key: '2026-W49', year: 2026, week: 49 },
    // across a year boundary: 2026 has 53 weeks; W53 runs Mon 28 Dec 2026 – Sun 3 Jan 2027
    { at: '2026-12-31T17:30:00.000Z', local: 'Fri 2027-01-01 00:30', key: '2026-W53', year: 2026, week: 53 },
    { at: '2027-01-03T16:59:00.000Z', local: 'Sun 2027-01-03 23:59', key: '2026-W53', year: 2026, week: 53 },
    { at: '2027-01-03T17:00:00.000Z', local: 'Mon 2027-01-04 00:00', key: '2027-W01', year: 2027, week: 1 },
    // and the other way: Mon 30 Dec 2024 is in 2025-W01
    { at: '2024-12-29T16:59:00.000Z', local: 'Sun 2024-12-29 23:59', key: '2024-W52', year: 2024, week: 52 },
    { at: '2024-12-29T17:00:00.000Z', local: 'Mon 2024-12-30 00:00', key: '2025-W01', year: 2025, week: 1 },
  ])('$local → $key', ({ at, key, year, week }) => {
    expect(isoWeekOf(Z(at))).toEqual({ year, week, key });
  });

  it('gives each week its local-midnight bounds', () => {
    const p = weekPeriod(2026, 48);
    expect(new Date(p.startMs).toISOString()).toBe('2026-11-22T17:00:00.000Z');
    expect(new Date(p.endMs).toISOString()).toBe('2026-11-29T17:00:00.000Z');
    expect(dayKey(p.firstDay)).toBe('2026-11-23');
    expect(dayKey(p.lastDay)).toBe('2026-11-29');
    expect(p.year).toBe(2026);
    const w53 = weekPeriod(2026, 53);
    expect([dayKey(w53.firstDay), dayKey(w53.lastDay), w53.year]).toEqual(['2026-12-28', '2027-01-03', 2026]);
  });

  it.each([
    { year: 2020, weeks: 53 }, // 1 Jan a Wednesday in a leap year
    { year: 2021, weeks: 52 },
    { year: 2025, weeks: 52 },
    { year: 2026, weeks: 53 }, // 1 Jan a Thursday
    { year: 2027, weeks: 52 },
  ])('$year has $weeks weeks', ({ year, weeks }) => {
    expect(weeksInYear(year)).toBe(weeks);
  });

  it('parses week keys and refuses weeks that do not exist', () => {
    expect(parseWeekKey('2026-W53').week).toBe(53);
    expect(() => parseWeekKey('2025-W53')).toThrow(/2025 has weeks 01–52/);
    expect(() => parseWeekKey('2026-48')).toThrow(/must look like 2026-W48/);
    expect(() => parseWeekKey('2026-W00')).toThrow(/does not exist/);
  });

  it('shifts weeks across year boundaries', () => {
    const w1 = parsePeriod('week', '2027-W01');
    expect(shiftPeriod(w1, -1).key).toBe('2026-W53');
    expect(shiftPeriod(w1, -53).key).toBe('2026-W01');
    expect(shiftPeriod(parsePeriod('week', '2026-W53'), 1).key).toBe('2027-W01');
    expect(periodsEndingAt(w1, 3).map((p) => p.key)).toEqual(['2026-W52', '2026-W53', '2027-W01']);
  });
});

describe('months in Vietnam local time', () => {
  it.each([
    { at: '2024-12-31T16:59:59.999Z', key: '2024-12' },
    { at: '2024-12-31T17:00:00.000Z', key: '2025-01' }, // 00:00 on 1 January, Hanoi
    { at: '2026-11-30T16:59:00.000Z', key: '2026-11' },
    { at: '2026-11-30T17:00:00.000Z', key: '2026-12' },
  ])('$at → $key', ({ at, key }) => {
    expect(monthOf(Z(at)).key).toBe(key);
  });

  it('has the right lengths and bounds', () => {
    expect(monthPeriod(2024, 2).lastDay - monthPeriod(2024, 2).firstDay + 1).toBe(29);
    expect(monthPeriod(2026, 2).lastDay - monthPeriod(2026, 2).firstDay + 1).toBe(28);
    const nov = parsePeriod('month', '2026-11');
    expect(new Date(nov.startMs).toISOString()).toBe('2026-10-31T17:00:00.000Z');
    expect(new Date(nov.endMs).toISOString()).toBe('2026-11-30T17:00:00.000Z');
    expect(shiftPeriod(parsePeriod('month', '2026-01'), -1).key).toBe('2025-12');
    expect(shiftPeriod(parsePeriod('month', '2026-12'), 1).key).toBe('2027-01');
    expect(periodOf('month', Z('2026-11-15T00:00:00Z')).key).toBe('2026-11');
    expect(() => parsePeriod('month', '2026-13')).toThrow(/does not exist/);
    expect(() => parsePeriod('month', '2026-W48')).toThrow(/must look like 2026-11/);
  });
});

describe('local days and hours', () => {
  it('counts local days from 1970-01-01 local midnight', () => {
    expect(localDayOf(Z('1969-12-31T17:00:00Z'))).toBe(0);
    expect(localDayOf(Z('1969-12-31T16:59:59.999Z'))).toBe(-1);
    expect(dayKey(localDayOf(Z('2026-11-22T17:00:00Z')))).toBe('2026-11-23');
  });
  it.each([
    { at: '2026-11-23T00:59:59Z', hour: 7 },
    { at: '2026-11-23T01:00:00Z', hour: 8 },
    { at: '2026-11-23T10:00:00Z', hour: 17 },
    { at: '2026-11-23T16:00:00Z', hour: 23 },
    { at: '2026-11-23T17:00:00Z', hour: 0 },
  ])('$at is $hour h in Hanoi', ({ at, hour }) => {
    expect(localHourOf(Z(at))).toBe(hour);
  });
});
