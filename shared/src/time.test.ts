import { describe, expect, it } from 'vitest';
import { isoWeekOf, isoWeekRange, previousIsoWeek, rebase } from './time.js';

const T = Date.UTC(2026, 10, 28, 5, 0, 0);

describe('rebase', () => {
  it('re-bases a result of the same boot from uptime, ignoring a wrong wall clock', () => {
    const r = rebase({
      result: { bootId: 'b1', uptimeMs: 60_000 },
      wallAt: Date.UTC(1970, 0, 1, 0, 1, 0), // Pi booted without RTC: 1970
      batch: { bootId: 'b1', uptimeMs: 3_660_000 },
      receivedAt: T,
    });
    expect(r.trusted).toBe(true);
    expect(r.startedAt).toBe(T - 3_600_000);
    expect(r.skewMs).toBe(Date.UTC(1970, 0, 1, 0, 1, 0) - (T - 3_600_000));
  });

  it('uses a remembered offset for a result of an earlier boot', () => {
    const r = rebase({
      result: { bootId: 'old', uptimeMs: 10_000 },
      wallAt: 0,
      batch: { bootId: 'new', uptimeMs: 5_000 },
      receivedAt: T,
      knownOffsetMs: T - 86_400_000,
    });
    expect(r).toEqual({ startedAt: T - 86_400_000 + 10_000, trusted: true, skewMs: -(T - 86_400_000 + 10_000) });
  });

  it('falls back to the wall clock, untrusted, for an unknown earlier boot', () => {
    const r = rebase({
      result: { bootId: 'old', uptimeMs: 1 },
      wallAt: T - 5,
      batch: { bootId: 'new', uptimeMs: 9 },
      receivedAt: T,
    });
    expect(r).toEqual({ startedAt: T - 5, trusted: false, skewMs: undefined });
  });

  it('keeps the smaller (less delayed) offset of the same boot', () => {
    const r = rebase({
      result: { bootId: 'b', uptimeMs: 1_000 },
      wallAt: T,
      batch: { bootId: 'b', uptimeMs: 2_000 },
      receivedAt: T + 500, // slow request: this batch alone says the boot was at T - 1500
      knownOffsetMs: T - 2_000, // an earlier, faster batch placed it at T - 2000
    });
    expect(r.startedAt).toBe(T - 1_000);
  });

  it('refuses contradictory stamps (result uptime after the batch)', () => {
    const r = rebase({
      result: { bootId: 'b', uptimeMs: 5_000 },
      wallAt: T,
      batch: { bootId: 'b', uptimeMs: 1_000 },
      receivedAt: T,
    });
    expect(r.trusted).toBe(false);
  });
});

describe('isoWeekOf (Asia/Ho_Chi_Minh)', () => {
  it.each([
    ['2025-01-01T05:00:00Z', '2025-W01', 2025, 1], // a Wednesday
    ['2024-12-30T05:00:00Z', '2025-W01', 2025, 1], // Monday of week 1 lies in the previous calendar year
    ['2021-01-03T05:00:00Z', '2020-W53', 2020, 53], // Sunday, still the last week of 2020
    ['2026-01-01T05:00:00Z', '2026-W01', 2026, 1],
    ['2026-12-31T05:00:00Z', '2026-W53', 2026, 53],
    // Monday 00:00 local is Sunday 17:00 UTC: the week turns at local midnight, not UTC midnight.
    ['2025-02-09T17:00:00Z', '2025-W07', 2025, 7],
    ['2025-02-09T16:59:59.999Z', '2025-W06', 2025, 6],
  ])('%s is %s', (iso, key, year, week) => {
    expect(isoWeekOf(Date.parse(iso))).toEqual({ year, week, key });
  });
});

describe('isoWeekRange', () => {
  it('spans Monday 00:00 to Monday 00:00 local time', () => {
    expect(isoWeekRange('2025-W07')).toEqual({
      startMs: Date.parse('2025-02-09T17:00:00Z'),
      endMs: Date.parse('2025-02-16T17:00:00Z'),
    });
    expect(isoWeekRange('2020-W53')).toEqual({
      startMs: Date.parse('2020-12-27T17:00:00Z'),
      endMs: Date.parse('2021-01-03T17:00:00Z'),
    });
  });

  it('round-trips with isoWeekOf at both ends', () => {
    for (const key of ['2024-W01', '2024-W52', '2025-W01', '2026-W53', '2030-W20']) {
      const r = isoWeekRange(key)!;
      expect(isoWeekOf(r.startMs).key).toBe(key);
      expect(isoWeekOf(r.endMs - 1).key).toBe(key);
      expect(isoWeekOf(r.endMs).key).not.toBe(key);
    }
  });

  it.each(['2025-7', '2025-W7', '2025-W00', '2021-W53', '2025-W54', 'W07-2025', ''])('rejects %j', (key) => {
    expect(isoWeekRange(key)).toBeUndefined();
  });

  it('steps back across a year boundary', () => {
    expect(previousIsoWeek('2025-W01')).toBe('2024-W52');
    expect(previousIsoWeek('2021-W01')).toBe('2020-W53');
    expect(previousIsoWeek('2025-W07')).toBe('2025-W06');
    expect(previousIsoWeek('nope')).toBeUndefined();
  });
});
