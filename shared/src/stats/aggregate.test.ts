import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLAN_TARGETS_MBPS } from '../spec.js';
import {
  aggregateColumns,
  aggregateSeries,
  aggregateSpeed,
  changeOf,
  headlineOf,
  headlineOfValues,
  headlineStats,
  type SpeedSample,
  sampleFloorFor,
  type TargetTable,
  targetFor,
  toColumns,
} from './aggregate.js';
import { mean, percentile } from './basic.js';
import { parsePeriod, periodsEndingAt } from './periods.js';

const M = 1e6;
/** A test at a Hanoi local time ("2026-11-23 09:00"), figures in Mbit/s and ms. */
function S(
  local: string,
  agent: string,
  downMbps: number | null,
  upMbps: number | null = null,
  lat: number | null = null,
) {
  const at = Date.parse(`${local.replace(' ', 'T')}:00+07:00`);
  return { at, agent, down: downMbps === null ? null : downMbps * M, up: upMbps === null ? null : upMbps * M, lat };
}

const WEEK = { targetBps: 90 * M, sampleFloor: sampleFloorFor('week') };

/*
 * Hand-computed table A: one commune, fixed line, ISO week 2026-W48 (Mon 23 – Sun 29 Nov, Hanoi),
 * target 90 Mbit/s.
 *
 *   agent  local time          down  up  lat   slice
 *   a      Mon 23 09:00         95   20   10   office
 *   a      Mon 23 20:00         60   30   12   evening
 *   a      Tue 24 10:00        100    –   11   office
 *   a      Wed 25 21:00         70   40    –   evening
 *   b      Thu 26 08:00         88   10   20   office (08:00 is inside)
 *   b      Fri 27 19:30         72   50   30   evening
 *   b      Sat 28 12:00         92   60   15   office
 *   b      Sun 29 23:30         40   25   14   neither (23:00 is outside)
 *
 * down sorted 40 60 70 72 88 92 95 100 → median (72+88)/2 = 80, mean 617/8 = 77.125,
 * p10 rank 0.7 → 40 + 0.7×20 = 54, p90 rank 6.3 → 95 + 0.3×5 = 96.5;
 * ≥ 90: 92 95 100 → 3/8; ≥ 72: 72 88 92 95 100 → 5/8; attainment 80/90.
 * up sorted 10 20 25 30 40 50 60 → 30; latency sorted 10 11 12 14 15 20 30 → 14.
 * office 88 92 95 100 → 93.5 (4); evening 60 70 72 → 70 (3).
 */
const TABLE_A: SpeedSample[] = [
  S('2026-11-23 09:00', 'a', 95, 20, 10),
  S('2026-11-23 20:00', 'a', 60, 30, 12),
  S('2026-11-24 10:00', 'a', 100, null, 11),
  S('2026-11-25 21:00', 'a', 70, 40, null),
  S('2026-11-26 08:00', 'b', 88, 10, 20),
  S('2026-11-27 19:30', 'b', 72, 50, 30),
  S('2026-11-28 12:00', 'b', 92, 60, 15),
  S('2026-11-29 23:30', 'b', 40, 25, 14),
];

describe('aggregateSpeed against hand-computed tables', () => {
  it('table A: per test', () => {
    const s = aggregateSpeed(TABLE_A, WEEK);
    expect(s.samples).toBe(8);
    expect(s.agents).toBe(2);
    expect(s.download.median).toBe(80 * M);
    expect(s.download.mean).toBeCloseTo(77.125 * M, 3);
    expect(s.download.p10).toBeCloseTo(54 * M, 3);
    expect(s.download.p90).toBeCloseTo(96.5 * M, 3);
    expect(s.uploadMedian).toBe(30 * M);
    expect(s.latencyMedian).toBe(14);
    expect(s.target).toBe(90 * M);
    expect(s.attained).toBe(false);
    expect(s.attainment).toBeCloseTo(80 / 90, 12);
    expect(s.shareAtTarget).toBe(3 / 8);
    expect(s.shareAt80).toBe(5 / 8);
    expect(s.office).toEqual({ samples: 4, median: 93.5 * M });
    expect(s.evening).toEqual({ samples: 3, median: 70 * M });
    expect(s.sampleFloor).toBe(70);
    expect(s.lowSamples).toBe(true);
    expect(s.perAgent).toBe(false);
  });

  /*
   * Table A, each agent collapsed to its median first:
   *   a: 60 70 95 100 → 82.5   b: 40 72 88 92 → 80   → median = mean = 81.25,
   *   p10 = 80 + 0.1×2.5 = 80.25, p90 = 82.25; shares over 2 agents: ≥90 0/2, ≥72 2/2.
   *   up a: 20 30 40 → 30, b: 10 25 50 60 → 37.5 → 33.75; latency a: 10 11 12 → 11, b: 14 15 20 30 → 17.5 → 14.25.
   *   office a: 95 100 → 97.5, b: 88 92 → 90 → 93.75; evening a: 60 70 → 65, b: 72 → 68.5.
   */
  it('table A: each agent collapsed to its median first', () => {
    const s = aggregateSpeed(TABLE_A, { ...WEEK, perAgentFirst: true });
    expect(s.samples).toBe(8);
    expect(s.agents).toBe(2);
    expect(s.download.median).toBe(81.25 * M);
    expect(s.download.mean).toBe(81.25 * M);
    expect(s.download.p10).toBeCloseTo(80.25 * M, 3);
    expect(s.download.p90).toBeCloseTo(82.25 * M, 3);
    expect(s.shareAtTarget).toBe(0);
    expect(s.shareAt80).toBe(1);
    expect(s.uploadMedian).toBe(33.75 * M);
    expect(s.latencyMedian).toBe(14.25);
    expect(s.office).toEqual({ samples: 4, median: 93.75 * M });
    expect(s.evening).toEqual({ samples: 3, median: 68.5 * M });
    expect(s.perAgent).toBe(true);
  });

  it('a chatty agent dominates per test but not per agent', () => {
    const chatty = [
      ...Array.from({ length: 5 }, (_, i) => S(`2026-11-23 0${i}:00`, 'a', 10)),
      S('2026-11-24 09:00', 'b', 100),
      S('2026-11-24 09:00', 'c', 50),
      S('2026-11-25 09:00', 'c', 70),
    ];
    // per test: 10 10 10 10 10 50 70 100 → 10; per agent: a 10, b 100, c 60 → 60
    expect(aggregateSpeed(chatty, WEEK).download.median).toBe(10 * M);
    expect(aggregateSpeed(chatty, { ...WEEK, perAgentFirst: true }).download.median).toBe(60 * M);
  });

  it('empty: no figures, null not zero, and flagged', () => {
    const s = aggregateSpeed([], WEEK);
    expect(s).toMatchObject({
      samples: 0,
      agents: 0,
      download: { median: null, mean: null, p10: null, p90: null },
      uploadMedian: null,
      latencyMedian: null,
      target: 90 * M,
      attained: null,
      attainment: null,
      shareAtTarget: null,
      shareAt80: null,
      lowSamples: true,
      office: { samples: 0, median: null },
      evening: { samples: 0, median: null },
    });
  });

  it('a unit with one agent and one test', () => {
    const s = aggregateSpeed([S('2026-11-23 09:00', 'only', 50, 5, 30)], WEEK);
    expect(s).toMatchObject({
      samples: 1,
      agents: 1,
      download: { median: 50 * M, mean: 50 * M, p10: 50 * M, p90: 50 * M },
      uploadMedian: 5 * M,
      latencyMedian: 30,
      attained: false,
      shareAtTarget: 0,
      shareAt80: 0,
    });
    expect(aggregateSpeed([S('2026-11-23 09:00', 'only', 50)], { ...WEEK, perAgentFirst: true }).download.median).toBe(
      50 * M,
    );
  });

  it('ties at the target count as attained (≥)', () => {
    const s = aggregateSpeed(
      [90, 90, 90, 89].map((v, i) => S(`2026-11-2${3 + i} 09:00`, 'a', v)),
      WEEK,
    );
    // sorted 89 90 90 90 → median 90
    expect(s.download.median).toBe(90 * M);
    expect(s.attained).toBe(true);
    expect(s.attainment).toBe(1);
    expect(s.shareAtTarget).toBe(3 / 4);
    expect(s.shareAt80).toBe(1);
  });

  it('an outlier moves the mean, not the median', () => {
    const s = aggregateSpeed(
      [10, 11, 12, 1000].map((v, i) => S(`2026-11-2${3 + i} 09:00`, 'a', v)),
      WEEK,
    );
    expect(s.download.median).toBe(11.5 * M);
    expect(s.download.mean).toBe(258.25 * M);
    expect(s.download.p10).toBeCloseTo(10.3 * M, 3);
    expect(s.download.p90).toBeCloseTo(703.6 * M, 3);
  });

  it('tests without a download figure do not count as samples but give their upload and latency', () => {
    const s = aggregateSpeed([S('2026-11-23 09:00', 'a', null, 8, 40), S('2026-11-23 11:00', 'a', 30, 4, 20)], WEEK);
    expect(s.samples).toBe(1);
    expect(s.download.median).toBe(30 * M);
    expect(s.uploadMedian).toBe(6 * M);
    expect(s.latencyMedian).toBe(30);
  });

  it('no target: attainment figures are null', () => {
    const s = aggregateSpeed(TABLE_A, { targetBps: null, sampleFloor: 70 });
    expect([s.target, s.attained, s.attainment, s.shareAtTarget, s.shareAt80]).toEqual([null, null, null, null, null]);
  });

  it('does not modify its input', () => {
    const copy = TABLE_A.map((s) => ({ ...s }));
    aggregateSpeed(TABLE_A, { ...WEEK, perAgentFirst: true });
    expect(TABLE_A).toEqual(copy);
  });
});

describe('the 300-samples-a-month flag', () => {
  const many = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ at: i, agent: 'a', down: 1e6, up: null, lat: null }));
  it.each([
    { kind: 'month' as const, n: 299, low: true },
    { kind: 'month' as const, n: 300, low: false },
    { kind: 'week' as const, n: 69, low: true }, // 300 × 7 / 30 = 70
    { kind: 'week' as const, n: 70, low: false },
  ])('$kind with $n samples: low = $low', ({ kind, n, low }) => {
    const s = aggregateSpeed(many(n), { targetBps: null, sampleFloor: sampleFloorFor(kind) });
    expect(s.lowSamples).toBe(low);
    expect(s.sampleFloor).toBe(kind === 'month' ? 300 : 70);
  });
});

describe('targets per year and access type', () => {
  it.each([
    { year: 2023, access: 'fixed' as const, mbps: 88 },
    { year: 2023, access: 'mobile' as const, mbps: 33 },
    { year: 2024, access: 'fixed' as const, mbps: 89 },
    { year: 2025, access: 'mobile' as const, mbps: 40 },
    { year: 2026, access: 'fixed' as const, mbps: 90 }, // carried forward
    { year: 2030, access: 'mobile' as const, mbps: 40 },
    { year: 2022, access: 'fixed' as const, mbps: 88 }, // before the plan: its first year
  ])('plan: $year $access → $mbps Mbit/s', ({ year, access, mbps }) => {
    expect(targetFor(PLAN_TARGETS_MBPS, year, access)).toBe(mbps * M);
  });

  it('a later year set for one access type only carries the other forward', () => {
    const t: TargetTable = { ...PLAN_TARGETS_MBPS, 2026: { mobile: 50 } };
    expect(targetFor(t, 2026, 'mobile')).toBe(50 * M);
    expect(targetFor(t, 2027, 'mobile')).toBe(50 * M);
    expect(targetFor(t, 2026, 'fixed')).toBe(90 * M);
    expect(targetFor({}, 2026, 'fixed')).toBeNull();
  });
});

describe('aggregateSeries: consecutive weeks', () => {
  // 2026-W52, the 53rd week that crosses into 2027, 2027-W01 and W02.
  const weeks = periodsEndingAt(parsePeriod('week', '2027-W02'), 4);
  const table: TargetTable = { 2025: { fixed: 90 }, 2027: { fixed: 100 } };
  const samples = [
    S('2026-12-21 09:00', 'a', 80), // W52
    S('2026-12-27 23:59', 'a', 100), // W52, last minute (Sunday, Hanoi)
    S('2026-12-28 00:00', 'a', 95), // W53, first minute
    S('2027-01-03 10:00', 'a', 85), // W53 although it is 2027 already
    S('2027-01-04 00:00', 'b', 120), // W01
    S('2027-01-18 00:00', 'b', 999), // after the last week: ignored
    S('2026-12-20 23:59', 'b', 1), // before the first week: ignored
  ];

  it('buckets by Hanoi local time, keeps empty weeks and uses each week-year target', () => {
    const series = aggregateSeries(samples, weeks, { targetFor: (p) => targetFor(table, p.year, 'fixed') });
    expect(series.map((p) => p.period.key)).toEqual(['2026-W52', '2026-W53', '2027-W01', '2027-W02']);
    expect(series.map((p) => p.stats.samples)).toEqual([2, 2, 1, 0]);
    expect(series.map((p) => p.stats.download.median)).toEqual([90 * M, 90 * M, 120 * M, null]);
    // W53 belongs to ISO year 2026: its target is 2026's (carried from 2025), not 2027's
    expect(series.map((p) => p.stats.target)).toEqual([90 * M, 90 * M, 100 * M, 100 * M]);
    expect(series.map((p) => p.stats.attained)).toEqual([true, true, true, null]);
    expect(series[0]?.change).toBeNull();
    expect(series[1]?.change).toEqual({ delta: 0, ratio: 0 });
    expect(series[2]?.change?.delta).toBe(30 * M);
    expect(series[2]?.change?.ratio).toBeCloseTo(1 / 3, 12);
    expect(series[3]?.change).toBeNull(); // an empty week has no change
  });

  it('changeOf', () => {
    expect(changeOf(110, 100)).toEqual({ delta: 10, ratio: 0.10000000000000009 });
    expect(changeOf(5, 0)).toEqual({ delta: 5, ratio: null });
    expect(changeOf(null, 3)).toBeNull();
    expect(changeOf(3, null)).toBeNull();
  });
});

describe('selection agrees with sorting (property)', () => {
  it('median, p10, p90 and mean equal basic.percentile / mean on any input, ties and outliers included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0, max: 1e10, noNaN: true })), {
          minLength: 1,
          maxLength: 300,
        }),
        (vals) => {
          const samples = vals.map((v, i) => ({ at: i * 60_000, agent: i % 7, down: v, up: v / 2, lat: v % 50 }));
          const s = aggregateColumns(toColumns(samples), { targetBps: 10, sampleFloor: 1 });
          expect(s.download.median).toBe(percentile(vals, 0.5));
          expect(s.download.p10).toBe(percentile(vals, 0.1));
          expect(s.download.p90).toBe(percentile(vals, 0.9));
          expect(s.download.mean).toBeCloseTo(mean(vals), 0);
          expect(s.uploadMedian).toBe(
            percentile(
              vals.map((v) => v / 2),
              0.5,
            ),
          );
          expect(headlineOf(toColumns(samples))).toEqual({ samples: vals.length, median: percentile(vals, 0.5) });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('selection on large groups (the sampling step above 600 values) agrees with sorting (property)', () => {
  it('median, p10 and p90 of 600–5 000 values, many ties or none, equal basic.percentile', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 601, max: 5000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.boolean(),
        (n, seed, ties) => {
          let x = seed;
          const vals = Array.from({ length: n }, () => {
            x = (x * 1103515245 + 12345) % 2147483648;
            return ties ? x % 13 : (x / 2147483648) * 1e9;
          });
          const samples = vals.map((v, i) => ({ at: i * 60_000, agent: i % 7, down: v, up: v, lat: v }));
          const s = aggregateColumns(toColumns(samples), { targetBps: null, sampleFloor: 1 });
          expect(s.download.median).toBe(percentile(vals, 0.5));
          expect(s.download.p10).toBe(percentile(vals, 0.1));
          expect(s.download.p90).toBe(percentile(vals, 0.9));
          expect(headlineOfValues(Float64Array.from(vals)).median).toBe(percentile(vals, 0.5));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('headline figures alone (trends, the period before) equal the full figures (property)', () => {
  it('headlineOfValues and headlineStats give what aggregateColumns gives, NaN, ties, targets and floors included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constant(Number.NaN),
            fc.integer({ min: 0, max: 20 }),
            fc.double({ min: 0, max: 1e9, noNaN: true }),
          ),
          { maxLength: 200 },
        ),
        fc.oneof(fc.constant(null), fc.constant(0), fc.double({ min: 1, max: 1e9, noNaN: true })),
        fc.integer({ min: 0, max: 100 }),
        fc.boolean(),
        (vals, targetBps, sampleFloor, perAgentFirst) => {
          const samples = vals.map((v, i) => ({
            at: i * 600_000,
            agent: i % 5,
            down: Number.isNaN(v) ? null : v,
            up: 1,
            lat: 2,
          }));
          const c = toColumns(samples);
          const full = aggregateColumns(c, { targetBps, sampleFloor, perAgentFirst });
          const head = headlineOf(c, perAgentFirst);
          if (!perAgentFirst) expect(headlineOfValues(Float64Array.from(vals))).toEqual(head);
          expect(headlineStats(head, { targetBps, sampleFloor })).toEqual({
            samples: full.samples,
            download: { median: full.download.median },
            target: full.target,
            attained: full.attained,
            attainment: full.attainment,
            sampleFloor: full.sampleFloor,
            lowSamples: full.lowSamples,
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
