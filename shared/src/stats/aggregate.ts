import type { AccessType } from '../schemas/results.js';
import { EVENING_PEAK_HOURS, MIN_MONTHLY_SAMPLES, OFFICE_HOURS } from '../spec.js';
import { mean, percentileOfSorted } from './basic.js';
import { localHourOf, type Period, type PeriodKind } from './periods.js';

/**
 * i-Speed-style statistics of one group of speed tests (a unit × access type × period), pure.
 * Definitions: docs/statistics.md. Speeds in bits per second, latency in milliseconds; a figure
 * with no data is `null` (JSON-friendly), never 0.
 */

/** One speed test as the statistics see it. */
export interface SpeedSample {
  /** Start of the test, ms since epoch (collector clock where it could be re-based). */
  at: number;
  /** Which agent measured it (any stable key). */
  agent: string | number;
  /** Download goodput, bits/s, or null when the test has none. */
  down: number | null;
  /** Upload goodput, bits/s, or null. */
  up: number | null;
  /** Idle latency median of the test, ms, or null. */
  lat: number | null;
}

export interface Distribution {
  median: number | null;
  mean: number | null;
  p10: number | null;
  p90: number | null;
}

export interface SliceStats {
  /** Tests with a download figure inside the slice of the day. */
  samples: number;
  /** Median download inside the slice, bits/s. */
  median: number | null;
}

export interface GroupStats {
  /** Tests with a download figure: the i-Speed sample count. */
  samples: number;
  /** Distinct agents with at least one such test. */
  agents: number;
  /** Download, bits/s. `median` is the headline. */
  download: Distribution;
  /** Median upload, bits/s. */
  uploadMedian: number | null;
  /** Median of the tests' idle latency medians, ms. */
  latencyMedian: number | null;
  /** Target download for the period's year and the access type, bits/s; null when none applies. */
  target: number | null;
  /** Headline median ≥ target. Null without data or target. */
  attained: boolean | null;
  /** Headline median ÷ target (1.0 = exactly at target). */
  attainment: number | null;
  /** Share (0–1) of tests (or agents, with per-agent-first) with download ≥ target. */
  shareAtTarget: number | null;
  /** Share (0–1) with download ≥ 0.8 × target. */
  shareAt80: number | null;
  /** The sample floor that applies to this period (300 a month; pro-rated for a week). */
  sampleFloor: number;
  /** Fewer samples than the floor: the figure does not count (Công văn 5691/BTTTT-CVT). */
  lowSamples: boolean;
  /** Office hours 08:00–17:00 local time. */
  office: SliceStats;
  /** Evening peak 19:00–23:00 local time. */
  evening: SliceStats;
  /** True when each agent was collapsed to its own median first. */
  perAgent: boolean;
}

export interface AggregateOptions {
  /** Target download, bits/s, or null. */
  targetBps: number | null;
  /** Sample floor (see `sampleFloorFor`). */
  sampleFloor: number;
  /** Collapse each agent to its own median before the group figures. */
  perAgentFirst?: boolean;
}

/** Days in the month the weekly floor is pro-rated against (300 × 7 / 30 = 70). */
export const FLOOR_MONTH_DAYS = 30;

/** Sample floor of a period: 300 a month (Công văn 5691/BTTTT-CVT), the same rate for a week (70). */
export function sampleFloorFor(kind: PeriodKind): number {
  return kind === 'month' ? MIN_MONTHLY_SAMPLES : Math.ceil((MIN_MONTHLY_SAMPLES * 7) / FLOOR_MONTH_DAYS);
}

function sortedOf(values: number[]): number[] {
  return values.sort((a, b) => a - b);
}

function orNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Median of each agent's values, one per agent (agents with no value are left out). */
function agentMedians(samples: readonly SpeedSample[], pick: (s: SpeedSample) => number | null): number[] {
  const by = new Map<string | number, number[]>();
  for (const s of samples) {
    const v = pick(s);
    if (v === null || !Number.isFinite(v)) continue;
    const list = by.get(s.agent);
    if (list) list.push(v);
    else by.set(s.agent, [v]);
  }
  const out: number[] = [];
  for (const list of by.values()) out.push(percentileOfSorted(sortedOf(list), 0.5));
  return out;
}

function values(samples: readonly SpeedSample[], pick: (s: SpeedSample) => number | null): number[] {
  const out: number[] = [];
  for (const s of samples) {
    const v = pick(s);
    if (v !== null && Number.isFinite(v)) out.push(v);
  }
  return out;
}

function inHours(at: number, [from, to]: readonly [number, number]): boolean {
  const h = localHourOf(at);
  return h >= from && h < to;
}

const down = (s: SpeedSample) => s.down;
const up = (s: SpeedSample) => s.up;
const lat = (s: SpeedSample) => s.lat;

function medianOf(samples: readonly SpeedSample[], pick: (s: SpeedSample) => number | null, perAgent: boolean) {
  const v = perAgent ? agentMedians(samples, pick) : values(samples, pick);
  return orNull(percentileOfSorted(sortedOf(v), 0.5));
}

function slice(samples: readonly SpeedSample[], hours: readonly [number, number], perAgent: boolean): SliceStats {
  const inside = samples.filter((s) => inHours(s.at, hours));
  return { samples: values(inside, down).length, median: medianOf(inside, down, perAgent) };
}

/** The statistics of one group of tests. The input is not modified and may be in any order. */
export function aggregateSpeed(samples: readonly SpeedSample[], opts: AggregateOptions): GroupStats {
  const perAgent = opts.perAgentFirst ?? false;
  const withDown = samples.filter((s) => s.down !== null && Number.isFinite(s.down));
  const agents = new Set(withDown.map((s) => s.agent)).size;
  // The population the download figures are computed over: tests, or one median per agent.
  const pop = sortedOf(perAgent ? agentMedians(withDown, down) : values(withDown, down));
  const median = orNull(percentileOfSorted(pop, 0.5));
  const target = opts.targetBps !== null && opts.targetBps > 0 ? opts.targetBps : null;
  let atTarget = 0;
  let at80 = 0;
  if (target !== null) {
    for (const v of pop) {
      if (v >= target) atTarget++;
      if (v >= 0.8 * target) at80++;
    }
  }
  return {
    samples: withDown.length,
    agents,
    download: {
      median,
      mean: orNull(mean(pop)),
      p10: orNull(percentileOfSorted(pop, 0.1)),
      p90: orNull(percentileOfSorted(pop, 0.9)),
    },
    uploadMedian: medianOf(samples, up, perAgent),
    latencyMedian: medianOf(samples, lat, perAgent),
    target,
    attained: target === null || median === null ? null : median >= target,
    attainment: target === null || median === null ? null : median / target,
    shareAtTarget: target === null || pop.length === 0 ? null : atTarget / pop.length,
    shareAt80: target === null || pop.length === 0 ? null : at80 / pop.length,
    sampleFloor: opts.sampleFloor,
    lowSamples: withDown.length < opts.sampleFloor,
    office: slice(withDown, OFFICE_HOURS, perAgent),
    evening: slice(withDown, EVENING_PEAK_HOURS, perAgent),
    perAgent,
  };
}

export interface Change {
  /** Current minus previous, in the figure's unit. */
  delta: number;
  /** Current ÷ previous − 1 (0.05 = 5 % better); null when previous is 0. */
  ratio: number | null;
}

/** Week-over-week (or month-over-month) change of a figure; null when either side has no data. */
export function changeOf(current: number | null, previous: number | null): Change | null {
  if (current === null || previous === null) return null;
  return { delta: current - previous, ratio: previous === 0 ? null : current / previous - 1 };
}

/** Targets in Mbit/s per year; either access type may be absent in a year. */
export type TargetTable = Readonly<Record<string | number, { fixed?: number; mobile?: number }>>;

/**
 * Target download for a year and access type, bits/s. The value of the latest configured year at
 * or before `year` that sets this access type is carried forward; before the first configured
 * year the first value applies. Null when the table sets nothing for the access type.
 */
export function targetFor(table: TargetTable, year: number, access: AccessType): number | null {
  const years = Object.keys(table)
    .map(Number)
    .filter((y) => Number.isInteger(y) && table[y]?.[access] !== undefined)
    .sort((a, b) => a - b);
  if (years.length === 0) return null;
  let pick = years[0] as number;
  for (const y of years) if (y <= year) pick = y;
  return (table[pick]?.[access] as number) * 1e6;
}

export interface SeriesPoint {
  period: Period;
  stats: GroupStats;
  /** Change of the headline median against the point before (null for the first or without data). */
  change: Change | null;
}

export interface SeriesOptions {
  /** Target download of a period, bits/s, or null. */
  targetFor: (p: Period) => number | null;
  perAgentFirst?: boolean;
}

/**
 * Statistics for consecutive periods (oldest first). Samples outside every period are ignored;
 * a period without samples is still present, with `samples: 0` and null figures (an empty week).
 */
export function aggregateSeries(
  samples: readonly SpeedSample[],
  periods: readonly Period[],
  opts: SeriesOptions,
): SeriesPoint[] {
  const buckets: SpeedSample[][] = periods.map(() => []);
  for (const s of samples) {
    // Binary search: periods are sorted and do not overlap.
    let lo = 0;
    let hi = periods.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = periods[mid] as Period;
      if (s.at < p.startMs) hi = mid - 1;
      else if (s.at >= p.endMs) lo = mid + 1;
      else {
        (buckets[mid] as SpeedSample[]).push(s);
        break;
      }
    }
  }
  const out: SeriesPoint[] = [];
  let prev: number | null = null;
  periods.forEach((p, i) => {
    const stats = aggregateSpeed(buckets[i] as SpeedSample[], {
      targetBps: opts.targetFor(p),
      sampleFloor: sampleFloorFor(p.kind),
      perAgentFirst: opts.perAgentFirst ?? false,
    });
    out.push({ period: p, stats, change: i === 0 ? null : changeOf(stats.download.median, prev) });
    prev = stats.download.median;
  });
  return out;
}
