import type { AccessType } from '../schemas/results.js';
import { EVENING_PEAK_HOURS, MIN_MONTHLY_SAMPLES, OFFICE_HOURS } from '../spec.js';
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

/**
 * The same samples column by column (the collector's fast path): element i of each array is one
 * test; NaN marks a missing figure; `agent` holds small integer agent keys.
 */
export interface SampleColumns {
  n: number;
  at: Float64Array;
  agent: Int32Array;
  down: Float64Array;
  up: Float64Array;
  lat: Float64Array;
  /** Optional precomputed sliceOfDay(at) per sample (SLICE_*); computed from `at` when absent. */
  slice?: Uint8Array;
}

/** Slices of the local day the statistics report apart. */
export const SLICE_NONE = 0;
export const SLICE_OFFICE = 1;
export const SLICE_EVENING = 2;

/** Office hours (08–17 local), evening peak (19–23 local), or neither, of an instant. */
export function sliceOfDay(at: number): number {
  const h = localHourOf(at);
  if (h >= OFFICE_HOURS[0] && h < OFFICE_HOURS[1]) return SLICE_OFFICE;
  if (h >= EVENING_PEAK_HOURS[0] && h < EVENING_PEAK_HOURS[1]) return SLICE_EVENING;
  return SLICE_NONE;
}

/** Columns from sample objects; agents get integer keys in order of first appearance. */
export function toColumns(samples: readonly SpeedSample[]): SampleColumns {
  const n = samples.length;
  const c: SampleColumns = {
    n,
    at: new Float64Array(n),
    agent: new Int32Array(n),
    down: new Float64Array(n),
    up: new Float64Array(n),
    lat: new Float64Array(n),
  };
  const keys = new Map<string | number, number>();
  samples.forEach((s, i) => {
    let k = keys.get(s.agent);
    if (k === undefined) {
      k = keys.size;
      keys.set(s.agent, k);
    }
    c.at[i] = s.at;
    c.agent[i] = k;
    c.down[i] = s.down ?? Number.NaN;
    c.up[i] = s.up ?? Number.NaN;
    c.lat[i] = s.lat ?? Number.NaN;
  });
  return c;
}

/**
 * Put the k-th smallest of a[lo..hi] at index k, smaller ones before it and larger after
 * (Floyd and Rivest's selection, SELECT, CACM 1975: on a large range it first selects within a
 * small sample around the expected position, so the partition that follows is nearly final):
 * O(n) with about 1.5 n comparisons, half of Hoare's quickselect, against O(n log n) for a sort.
 */
function select(a: Float64Array, k: number, lo: number, hi: number): void {
  let left = lo;
  let right = hi;
  while (right > left) {
    if (right - left > 600) {
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      select(
        a,
        k,
        Math.max(left, Math.floor(k - (m * s) / n + sd)),
        Math.min(right, Math.floor(k + ((n - m) * s) / n + sd)),
      );
    }
    const t = a[k] as number;
    let i = left;
    let j = right;
    swap(a, left, k);
    if ((a[right] as number) > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while ((a[i] as number) < t) i++;
      while ((a[j] as number) > t) j--;
    }
    if (a[left] === t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i] as number;
  a[i] = a[j] as number;
  a[j] = t;
}

/**
 * Type-7 quantiles (basic.ts percentileOfSorted) of the values in `a`, for ascending `ps`.
 * Reorders `a`. Each quantile selects its lower rank in what is left right of the previous one,
 * then takes the smallest value above it for the interpolation.
 */
function quantiles(a: Float64Array, ps: readonly number[]): number[] {
  const n = a.length;
  if (n === 0) return ps.map(() => Number.NaN);
  const out: number[] = [];
  let from = 0;
  for (const p of ps) {
    const rank = p * (n - 1);
    const k = Math.floor(rank);
    select(a, k, from, n - 1);
    const lo = a[k] as number;
    let hi = lo;
    if (rank > k) {
      hi = Number.POSITIVE_INFINITY;
      for (let i = k + 1; i < n; i++) if ((a[i] as number) < hi) hi = a[i] as number;
    }
    out.push(lo + (hi - lo) * (rank - k));
    from = k;
  }
  return out;
}

function orNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** What a download-only computation needs of the columns (headlineOf). */
export type DownloadColumns = Pick<SampleColumns, 'n' | 'down' | 'agent'>;

/** Values of `col` (NaN skipped) at the rows `keep` allows, in a fresh array. */
function valuesOf(c: Pick<SampleColumns, 'n'>, col: Float64Array, keep?: Uint8Array): Float64Array {
  const out = new Float64Array(c.n);
  let m = 0;
  for (let i = 0; i < c.n; i++) {
    const v = col[i] as number;
    if (!Number.isNaN(v) && (keep === undefined || keep[i] === 1)) out[m++] = v;
  }
  return out.subarray(0, m);
}

/** One median per agent of `col` (NaN skipped) at the rows `keep` allows. */
function agentMediansOf(c: Pick<SampleColumns, 'n' | 'agent'>, col: Float64Array, keep?: Uint8Array): Float64Array {
  const by = new Map<number, number[]>();
  for (let i = 0; i < c.n; i++) {
    const v = col[i] as number;
    if (Number.isNaN(v) || (keep !== undefined && keep[i] !== 1)) continue;
    const a = c.agent[i] as number;
    const list = by.get(a);
    if (list) list.push(v);
    else by.set(a, [v]);
  }
  const out = new Float64Array(by.size);
  let m = 0;
  for (const list of by.values()) out[m++] = quantiles(Float64Array.from(list), [0.5])[0] as number;
  return out;
}

function population(
  c: Pick<SampleColumns, 'n' | 'agent'>,
  col: Float64Array,
  perAgent: boolean,
  keep?: Uint8Array,
): Float64Array {
  return perAgent ? agentMediansOf(c, col, keep) : valuesOf(c, col, keep);
}

function medianOf(
  c: Pick<SampleColumns, 'n' | 'agent'>,
  col: Float64Array,
  perAgent: boolean,
  keep?: Uint8Array,
): number | null {
  return orNull(quantiles(population(c, col, perAgent, keep), [0.5])[0] as number);
}

/**
 * Only the sample count and headline median of a group: what the period before needs for the
 * week-over-week change. Same definitions as aggregateColumns.
 */
export function headlineOf(c: DownloadColumns, perAgentFirst = false): { samples: number; median: number | null } {
  let samples = 0;
  for (let i = 0; i < c.n; i++) if (!Number.isNaN(c.down[i] as number)) samples++;
  return { samples, median: medianOf(c, c.down, perAgentFirst) };
}

/** The figures of a group that its sample count and headline median alone decide. */
export interface HeadlineStats {
  samples: number;
  download: { median: number | null };
  target: number | null;
  attained: boolean | null;
  attainment: number | null;
  sampleFloor: number;
  lowSamples: boolean;
}

/**
 * The headline figures (what a trend chart or table shows per period) from the sample count and
 * headline median (headlineOf): the same values aggregateColumns gives for these fields, without
 * the other figures (upload, latency, slices of the day), which need every field of every test.
 */
export function headlineStats(
  h: { samples: number; median: number | null },
  opts: Pick<AggregateOptions, 'targetBps' | 'sampleFloor'>,
): HeadlineStats {
  const target = opts.targetBps !== null && opts.targetBps > 0 ? opts.targetBps : null;
  const median = h.median;
  return {
    samples: h.samples,
    download: { median },
    target,
    attained: target === null || median === null ? null : median >= target,
    attainment: target === null || median === null ? null : median / target,
    sampleFloor: opts.sampleFloor,
    lowSamples: h.samples < opts.sampleFloor,
  };
}

/**
 * headlineOf without per-agent collapsing, straight on download values the caller no longer needs
 * (NaN: no figure): the same sample count and median, without copying them first. Reorders them.
 */
export function headlineOfValues(values: Float64Array): { samples: number; median: number | null } {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isNaN(v)) values[m++] = v;
  }
  return { samples: m, median: orNull(quantiles(values.subarray(0, m), [0.5])[0] as number) };
}

/** The statistics of one group of tests. The input is not modified and may be in any order. */
export function aggregateSpeed(samples: readonly SpeedSample[], opts: AggregateOptions): GroupStats {
  return aggregateColumns(toColumns(samples), opts);
}

/** aggregateSpeed on columns. */
export function aggregateColumns(c: SampleColumns, opts: AggregateOptions): GroupStats {
  const perAgent = opts.perAgentFirst ?? false;
  // Rows with a download figure, and which slice of the day each falls in.
  const office = new Uint8Array(c.n);
  const evening = new Uint8Array(c.n);
  let maxAgent = 0;
  for (let i = 0; i < c.n; i++) if ((c.agent[i] as number) > maxAgent) maxAgent = c.agent[i] as number;
  const seen = new Uint8Array(maxAgent + 1);
  let agents = 0;
  let samples = 0;
  let officeN = 0;
  let eveningN = 0;
  for (let i = 0; i < c.n; i++) {
    if (Number.isNaN(c.down[i] as number)) continue;
    samples++;
    const a = c.agent[i] as number;
    if (seen[a] === 0) {
      seen[a] = 1;
      agents++;
    }
    const sl = c.slice ? (c.slice[i] as number) : sliceOfDay(c.at[i] as number);
    if (sl === SLICE_OFFICE) {
      office[i] = 1;
      officeN++;
    } else if (sl === SLICE_EVENING) {
      evening[i] = 1;
      eveningN++;
    }
  }
  // The population the download figures are computed over: tests, or one median per agent.
  const pop = population(c, c.down, perAgent);
  const target = opts.targetBps !== null && opts.targetBps > 0 ? opts.targetBps : null;
  let sum = 0;
  let atTarget = 0;
  let at80 = 0;
  for (const v of pop) {
    sum += v;
    if (target !== null) {
      if (v >= target) atTarget++;
      if (v >= 0.8 * target) at80++;
    }
  }
  const [p10, p50, p90] = quantiles(pop, [0.1, 0.5, 0.9]) as [number, number, number];
  const median = orNull(p50);
  const head = headlineStats({ samples, median }, opts);
  return {
    samples,
    agents,
    download: {
      median,
      mean: pop.length ? sum / pop.length : null,
      p10: orNull(p10),
      p90: orNull(p90),
    },
    uploadMedian: medianOf(c, c.up, perAgent),
    latencyMedian: medianOf(c, c.lat, perAgent),
    target: head.target,
    attained: head.attained,
    attainment: head.attainment,
    shareAtTarget: target === null || pop.length === 0 ? null : atTarget / pop.length,
    shareAt80: target === null || pop.length === 0 ? null : at80 / pop.length,
    sampleFloor: head.sampleFloor,
    lowSamples: head.lowSamples,
    office: { samples: officeN, median: medianOf(c, c.down, perAgent, office) },
    evening: { samples: eveningN, median: medianOf(c, c.down, perAgent, evening) },
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
