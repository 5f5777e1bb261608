import { createTask } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { Cron, fixedOffset, localMidnight, localParts, zoneOffset } from './cron.js';

const HOUR = 3_600_000;
const TZ = 'Asia/Ho_Chi_Minh';

/** A deterministic pseudo-random sequence (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXPRS = [
  '0 * * * *',
  '0 */2 * * *',
  '20 * * * *',
  '0 4,12,20 * * *',
  '*/10 * * * *',
  '30 8 * * 1-5',
  '0 0 1 * *',
  '0 3 * 1-6 0',
];

describe('cron in a time zone', () => {
  it('matches exactly as node-cron does, without ICU, in a fixed-offset zone', () => {
    const r = rng(42);
    const start = Date.UTC(2024, 0, 1);
    for (const expr of EXPRS) {
      const ours = new Cron(expr, TZ);
      const theirs = createTask(expr, () => undefined, { timezone: TZ });
      let hits = 0;
      // Local times where these expressions match or just miss, every day of 2025, plus random minutes.
      const instants: number[] = [];
      for (let d = 0; d < 365; d++)
        for (const m of [0, 180, 200, 240, 510, 720, 1200, 1201])
          instants.push(Date.UTC(2025, 0, 1) - 7 * HOUR + d * 24 * HOUR + m * 60_000);
      for (let i = 0; i < 600; i++) instants.push(start + Math.floor(r() * 2 * 365 * 24 * 60) * 60_000);
      for (const t of instants) {
        const want = theirs.match(new Date(t));
        expect(ours.matches(t), `${expr} at ${new Date(t).toISOString()}`).toBe(want);
        if (want) hits++;
      }
      expect(hits, expr).toBeGreaterThan(0);
      ours.destroy();
      void theirs.destroy();
    }
  });

  it('next() finds the same instant as a minute-by-minute walk with node-cron', () => {
    const r = rng(7);
    // Expressions that match within days, so the reference walk stays short.
    for (const expr of EXPRS.slice(0, 6)) {
      const c = new Cron(expr, TZ);
      const task = createTask(expr, () => undefined, { timezone: TZ });
      for (let k = 0; k < 5; k++) {
        const from = Date.UTC(2025, 0, 1) + Math.floor(r() * 300 * 24 * 60) * 60_000 + 17_000;
        let walk = Math.ceil((from + 1) / 60_000) * 60_000;
        while (!task.match(new Date(walk))) walk += 60_000;
        expect(c.next(from), `${expr} after ${new Date(from).toISOString()}`).toBe(walk);
      }
      c.destroy();
      void task.destroy();
    }
  });

  it('handles daylight saving zones through ICU (New York, spring forward and fall back)', () => {
    const noon = new Cron('0 12 * * *', 'America/New_York');
    const runs: string[] = [];
    let t = Date.UTC(2025, 2, 7);
    for (let i = 0; i < 4; i++) {
      t = noon.next(t)!;
      runs.push(new Date(t).toISOString());
    }
    expect(runs).toEqual([
      '2025-03-07T17:00:00.000Z',
      '2025-03-08T17:00:00.000Z',
      '2025-03-09T16:00:00.000Z',
      '2025-03-10T16:00:00.000Z',
    ]);
    const lastFriday = new Cron('0 9 * * 5L', TZ);
    expect(new Date(lastFriday.next(Date.UTC(2025, 0, 1))!).toISOString()).toBe('2025-01-31T02:00:00.000Z');
  });

  it('knows the fixed zones and their offsets', () => {
    expect(fixedOffset('Asia/Ho_Chi_Minh')).toBe(7 * HOUR);
    expect(fixedOffset('Etc/GMT-7')).toBe(7 * HOUR);
    expect(fixedOffset('Etc/GMT+3')).toBe(-3 * HOUR);
    expect(fixedOffset('Europe/Paris')).toBeUndefined();
    // The fixed table agrees with ICU.
    for (const t of [Date.UTC(2025, 0, 1), Date.UTC(2025, 6, 1, 23, 59, 59)]) {
      expect(zoneOffset(t, 'Asia/Ho_Chi_Minh')).toBe(7 * HOUR);
      const icu = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Ho_Chi_Minh', hourCycle: 'h23', hour: 'numeric' });
      expect(Number(icu.format(t))).toBe(localParts(t, TZ).hour);
    }
    expect(localMidnight(2025, 3, 1, TZ)).toBe(Date.UTC(2025, 1, 28, 17));
  });
});
