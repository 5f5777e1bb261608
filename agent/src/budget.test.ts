import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Budget, type BudgetConfig, periodEnd, periodKey, periodStart } from './budget.js';
import { Outbox } from './outbox/outbox.js';

const TZ = 'Asia/Ho_Chi_Minh';
const HOUR = 3_600_000;
const MB = 1_000_000;
/** Local (UTC+7) wall time → epoch ms. */
const at = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min) - 7 * HOUR;

describe('plan months (local time, reset day)', () => {
  it.each([
    // now (local)                reset  start (local)      end (local)
    [[2025, 3, 15, 12], 1, [2025, 3, 1], [2025, 4, 1]],
    [[2025, 3, 1, 0], 1, [2025, 3, 1], [2025, 4, 1]],
    [[2025, 2, 28, 23, 59], 1, [2025, 2, 1], [2025, 3, 1]],
    [[2025, 3, 9, 10], 10, [2025, 2, 10], [2025, 3, 10]],
    [[2025, 3, 10, 0], 10, [2025, 3, 10], [2025, 4, 10]],
    [[2025, 1, 5, 0], 28, [2024, 12, 28], [2025, 1, 28]],
    [[2025, 12, 31, 23], 15, [2025, 12, 15], [2026, 1, 15]],
  ] as const)('now %j, reset day %i → [%j, %j)', (now, reset, start, end) => {
    const n = at(now[0], now[1], now[2], now[3] ?? 0, (now as readonly number[])[4] ?? 0);
    const s = periodStart(n, reset, TZ);
    expect(s).toBe(at(start[0], start[1], start[2]));
    expect(periodEnd(s, reset, TZ)).toBe(at(end[0], end[1], end[2]));
    expect(periodKey(s, TZ)).toBe(
      `${start[0]}-${String(start[1]).padStart(2, '0')}-${String(start[2]).padStart(2, '0')}`,
    );
  });

  it('starts the month at local midnight, not UTC midnight', () => {
    // 1 March 00:30 in Vietnam is still 28 February in UTC.
    expect(periodStart(at(2025, 3, 1, 0, 30), 1, TZ)).toBe(Date.UTC(2025, 1, 28, 17));
  });
});

describe('data budget', () => {
  let dir: string;
  let outbox: Outbox;
  const cfg = (over: Partial<BudgetConfig> = {}): BudgetConfig => ({
    monthlyMegabytes: 1000,
    resetDay: 1,
    halveAtPercent: 80,
    pauseAtPercent: 100,
    heavyKinds: ['speed', 'ndt7'],
    ...over,
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hatang-budget-'));
    outbox = Outbox.inDir(dir);
  });
  afterEach(() => {
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const now = at(2025, 3, 15, 12);
  const gateInfo = (lastStartedAt?: number) => ({ periodMs: 2 * HOUR, lastStartedAt, now });

  it('counts bytes per kind and per plan month, and survives a restart', () => {
    const b = new Budget(outbox, cfg(), TZ);
    b.record('speed', 60 * MB, now);
    b.record('speed', 40 * MB, now);
    b.record('latency', 0.01 * MB, now);
    b.record('uplink', 0.5 * MB, now, 0);
    b.record('speed', 999 * MB, at(2025, 2, 27)); // last month
    outbox.close();
    outbox = Outbox.inDir(dir);
    const s = new Budget(outbox, cfg(), TZ).state(now);
    expect(s.byKind).toEqual({
      speed: { bytes: 100 * MB, tests: 2 },
      latency: { bytes: 10_000, tests: 1 },
      uplink: { bytes: 500_000, tests: 0 },
    });
    expect(s.usedBytes).toBe(100.51 * MB);
    expect(s.level).toBe('normal');
    expect(s.percent).toBeCloseTo(10.051);
  });

  it('below 80 %: every run; from 80 %: heavy kinds half as often; light kinds always', () => {
    const b = new Budget(outbox, cfg(), TZ);
    b.record('latency', 790 * MB, now);
    expect(b.gate('speed', gateInfo(now - 2 * HOUR))).toEqual({ run: true });
    b.record('latency', 10 * MB, now); // 80 %
    expect(b.state(now).level).toBe('halved');
    // last run one period ago: skipped; two periods ago: runs → half the frequency
    expect(b.gate('speed', gateInfo(now - 2 * HOUR))).toEqual({
      run: false,
      reason: 'data budget 80% used: speed tests run half as often',
    });
    expect(b.gate('speed', gateInfo(now - 4 * HOUR))).toEqual({ run: true });
    expect(b.gate('speed', gateInfo(undefined))).toEqual({ run: true });
    expect(b.gate('latency', gateInfo(now - 2 * HOUR))).toEqual({ run: true });
  });

  it('at 100 %: heavy kinds pause until the reset; latency and IPv6 go on', () => {
    const b = new Budget(outbox, cfg(), TZ);
    b.record('speed', 1000 * MB, now);
    const g = b.gate('speed', gateInfo(undefined));
    expect(g).toEqual({
      run: false,
      reason: `data budget 100% used: speed tests paused until ${new Date(at(2025, 4, 1)).toISOString()}`,
    });
    expect(b.gate('ndt7', gateInfo(undefined)).run).toBe(false);
    expect(b.gate('latency', gateInfo(undefined))).toEqual({ run: true });
    expect(b.gate('ipv6', gateInfo(undefined))).toEqual({ run: true });
    // A new plan month starts afresh.
    expect(b.gate('speed', { ...gateInfo(undefined), now: at(2025, 4, 1, 0, 1) })).toEqual({ run: true });
  });

  it('pauses early when one more test of the usual size would pass the limit', () => {
    const b = new Budget(outbox, cfg(), TZ);
    b.record('speed', 300 * MB, now);
    b.record('speed', 300 * MB, now); // typical 300 MB, 60 % used
    b.record('latency', 150 * MB, now); // 75 %
    expect(b.gate('speed', gateInfo(undefined))).toMatchObject({
      run: false,
      reason: expect.stringMatching(/one more speed test \(~300 MB\) would pass the limit/),
    });
  });

  it('no limit (monthlyMegabytes 0): always runs, still counts', () => {
    const b = new Budget(outbox, cfg({ monthlyMegabytes: 0 }), TZ);
    b.record('speed', 10_000 * MB, now);
    expect(b.state(now)).toMatchObject({ level: 'unlimited', usedBytes: 10_000 * MB, percent: 0 });
    expect(b.gate('speed', gateInfo(now - 1000))).toEqual({ run: true });
  });
});
