import {
  ACCESS_TYPES,
  type AccessType,
  aggregateColumns,
  type Change,
  changeOf,
  type DownloadColumns,
  dayKey,
  dayStartMs,
  type GroupStats,
  HatangError,
  type HeadlineStats,
  headlineOf,
  headlineOfValues,
  headlineStats,
  MAX_TREND_MONTHS,
  MAX_TREND_WEEKS,
  type Period,
  type PeriodKind,
  parsePeriod,
  periodOf,
  periodsEndingAt,
  REPORT_TZ_OFFSET_MS,
  type SampleColumns,
  sampleFloorFor,
  shiftPeriod,
  sliceOfDay,
  type TargetTable,
  targetFor,
  weekOfDay,
} from '@hatang/shared';
import { type Scope, UnitTree } from '../geography/tree.js';
import { naming } from '../routes/query-guard.js';
import type { Db } from '../storage/db.js';
import { createRollupRepo, decodeAll, decodeSamples } from '../storage/rollups.js';
import { createUnitsRepo, UNIT_LEVELS, type UnitLevel } from '../storage/units.js';

/**
 * The statistics service (`app.stats`): i-Speed-style figures per period × unit × access type
 * (× ISP), computed from the per-agent daily rollups with the pure functions of
 * @hatang/shared/stats. Dashboard, metrics and the HTTP API all call it in process.
 * Definitions: docs/statistics.md; HTTP shapes: docs/protocol.md §4.
 */

export interface UnitInfo {
  code: string;
  /** The name the unit had during the period (renames keep history). */
  name: string;
  type: string | null;
  level: UnitLevel;
  parentCode: string | null;
}

export interface PeriodInfo {
  kind: PeriodKind;
  /** '2026-W48' or '2026-11'. */
  key: string;
  /** Year whose target applies (ISO week-year for weeks). */
  year: number;
  /** First instant, local time with offset: '2026-11-23T00:00:00+07:00'. */
  start: string;
  /** First instant after the period (exclusive). */
  end: string;
  /** First and last local dates, 'YYYY-MM-DD'. */
  firstDay: string;
  lastDay: string;
}

export interface UnitStatsRow extends GroupStats {
  unit: UnitInfo;
  access: AccessType;
  /** ISP of the row when split or filtered by ISP, else null. */
  isp: string | null;
  /** The period before (previous week or month): sample count and headline median. */
  previous: { samples: number; median: number | null };
  /** Change of the headline median against the previous period. */
  change: Change | null;
}

export interface UnitsQuery {
  period: PeriodKind;
  /** Period key ('2026-W48' / '2026-11'); default: the current period. */
  at?: string | undefined;
  level: UnitLevel;
  /** Only units under this one (or members of this group). */
  parent?: string | null | undefined;
  /** One access type; default both. */
  access?: AccessType | undefined;
  /** Only agents of this ISP. */
  isp?: string | undefined;
  /** One row per ISP. */
  byIsp?: boolean | undefined;
  /** Collapse each agent to its median first. */
  perAgent?: boolean | undefined;
  /** Rows are limited to units this scope may read (default: all). */
  scope?: Scope | undefined;
}

export interface UnitsReport {
  period: PeriodInfo;
  previousPeriod: PeriodInfo;
  level: UnitLevel;
  parent: UnitInfo | null;
  access: AccessType[];
  isp: string | null;
  byIsp: boolean;
  perAgent: boolean;
  rows: UnitStatsRow[];
}

export interface TrendQuery {
  unit: string;
  access?: AccessType | undefined;
  isp?: string | undefined;
  /** 'week' (default) or 'month'. */
  period?: PeriodKind | undefined;
  /** How many periods, ending with `at`; default 52 weeks or 12 months. */
  count?: number | undefined;
  /** Last period; default the current one. */
  at?: string | undefined;
  perAgent?: boolean | undefined;
}

/** A units report row with the headline figures only (headlineUnits). UnitStatsRow is one too. */
export interface HeadlineUnitRow extends HeadlineStats {
  unit: UnitInfo;
  access: AccessType;
  isp: string | null;
  previous: { samples: number; median: number | null };
  change: Change | null;
}

export interface HeadlineUnitsReport {
  period: PeriodInfo;
  previousPeriod: PeriodInfo;
  level: UnitLevel;
  parent: UnitInfo | null;
  access: AccessType[];
  perAgent: boolean;
  rows: HeadlineUnitRow[];
}

/** A trend point with the headline figures only (headlineTrend): what the dashboard's charts show. */
export interface HeadlinePoint extends HeadlineStats {
  period: PeriodInfo;
  change: Change | null;
}

export interface HeadlineTrend {
  unit: UnitInfo;
  period: PeriodKind;
  perAgent: boolean;
  series: { access: AccessType; points: HeadlinePoint[] }[];
}

/** Sample count and headline median of a group (shared headlineOf). */
export interface Headline {
  samples: number;
  median: number | null;
}

const NO_HEADLINE: Headline = { samples: 0, median: null };

/** One row of a units report: the period's figures (full or headline), and the change against the period before. */
function reportRow<S extends { download: { median: number | null } }>(
  unit: UnitInfo,
  access: AccessType,
  isp: string | null,
  stats: S,
  previous: Headline,
) {
  return { unit, access, isp, ...stats, previous, change: changeOf(stats.download.median, previous.median) };
}

/**
 * A unit whose lines are at most this share of all lines reads its own lines (the line index);
 * a larger one reads whole periods, whose figures then serve every unit of its level.
 */
const OWN_LINES_SHARE = 1 / 3;

export interface TrendPoint extends GroupStats {
  period: PeriodInfo;
  change: Change | null;
}

export interface TrendReport {
  unit: UnitInfo;
  period: PeriodKind;
  isp: string | null;
  perAgent: boolean;
  series: { access: AccessType; points: TrendPoint[] }[];
}

export interface StatsServiceOptions {
  db: Db;
  /** Targets per year and access type, Mbit/s (config `targets`). */
  targets: TargetTable;
  now?: () => number;
  /** Cached reports kept in memory. */
  cacheSize?: number;
  /** Megabytes of decoded rollups kept in memory for reuse between reports (default 128). */
  dataCacheMb?: number;
  /**
   * Recompute the figures of periods that ingest touched this many ms after the last touch (at
   * most `refreshMaxWaitMs` after the first), in the background; 0: only when asked (default).
   */
  refreshDelayMs?: number;
  refreshMaxWaitMs?: number;
  /** Called with the periods recomputed in the background and how long it took. */
  onRefresh?: (periods: number, ms: number) => void;
  /**
   * Headline trends: units with at most this share of all lines read their own lines, larger ones
   * whole periods (default 1/3; tests set 0 or 1 to take one way or the other).
   */
  ownLinesShare?: number;
}

/** '2026-11-23T00:00:00+07:00' */
export function localIso(ms: number): string {
  return `${new Date(ms + REPORT_TZ_OFFSET_MS).toISOString().slice(0, 19)}+07:00`;
}

export function periodInfo(p: Period): PeriodInfo {
  return {
    kind: p.kind,
    key: p.key,
    year: p.year,
    start: localIso(p.startMs),
    end: localIso(p.endMs),
    firstDay: dayKey(p.firstDay),
    lastDay: dayKey(p.lastDay),
  };
}

/** A line (agent × access × ISP) as the statistics need it. */
interface LineInfo {
  /** Small integer key of the agent. */
  agent: number;
  access: AccessType;
  isp: string;
  commune: string | null;
}

/** The samples of one group: rollup tuples (4 floats each) and the agent of each part. */
class Bucket {
  readonly parts: Float64Array[] = [];
  readonly agents: number[] = [];
  readonly slices: (Uint8Array | undefined)[] = [];
  n = 0;

  add(f: Float64Array, agent: number, slice?: Uint8Array): void {
    this.parts.push(f);
    this.agents.push(agent);
    this.slices.push(slice);
    this.n += f.length >> 2;
  }

  columns(): SampleColumns {
    const n = this.n;
    const c: SampleColumns = {
      n,
      at: new Float64Array(n),
      agent: new Int32Array(n),
      down: new Float64Array(n),
      up: new Float64Array(n),
      lat: new Float64Array(n),
    };
    // Slices of the day were worked out once per period (periodData); copy them when every part has them.
    const slice = this.slices.every((x) => x !== undefined) ? new Uint8Array(n) : undefined;
    if (slice) c.slice = slice;
    let k = 0;
    this.parts.forEach((f, p) => {
      const agent = this.agents[p] as number;
      if (slice) slice.set(this.slices[p] as Uint8Array, k);
      for (let i = 0; i + 3 < f.length; i += 4) {
        c.at[k] = f[i] as number;
        c.down[k] = f[i + 1] as number;
        c.up[k] = f[i + 2] as number;
        c.lat[k] = f[i + 3] as number;
        c.agent[k] = agent;
        k++;
      }
    });
    return c;
  }
}

const EMPTY = new Bucket();

/** The download figures of one group (rollup_downloads rows) and the agent of each part. */
class DownBucket {
  readonly parts: Float64Array[] = [];
  readonly agents: number[] = [];
  n = 0;

  add(d: Float64Array, agent: number): void {
    this.parts.push(d);
    this.agents.push(agent);
    this.n += d.length;
  }

  columns(): DownloadColumns {
    const down = new Float64Array(this.n);
    const agent = new Int32Array(this.n);
    let k = 0;
    this.parts.forEach((d, p) => {
      down.set(d, k);
      agent.fill(this.agents[p] as number, k, k + d.length);
      k += d.length;
    });
    return { n: this.n, down, agent };
  }

  /** Sample count and headline median (shared headlineOf). */
  headline(perAgent: boolean): Headline {
    if (perAgent) return headlineOf(this.columns(), true);
    const down = new Float64Array(this.n);
    let k = 0;
    for (const d of this.parts) {
      down.set(d, k);
      k += d.length;
    }
    return headlineOfValues(down);
  }
}

/** Rollup rows of one period, decoded, with each sample's slice of the day (sliceOfDay). */
interface PeriodData {
  rows: { line: number; f: Float64Array; slice: Uint8Array }[];
  bytes: number;
}

/**
 * A least-recently-used cache bounded by the bytes its values hold (the oldest go first, the
 * newest always stays). An entry is good while its signature matches the one asked with.
 */
function byteBoundedCache<T>(maxBytes: number) {
  const entries = new Map<string, { sig: string; value: T; bytes: number }>();
  let bytes = 0;
  return {
    get(key: string, sig: string, compute: () => { value: T; bytes: number }): T {
      const hit = entries.get(key);
      if (hit) {
        entries.delete(key);
        if (hit.sig === sig) {
          entries.set(key, hit);
          return hit.value;
        }
        bytes -= hit.bytes;
      }
      const entry = { sig, ...compute() };
      entries.set(key, entry);
      bytes += entry.bytes;
      while (bytes > maxBytes && entries.size > 1) {
        const [k, v] = entries.entries().next().value as [string, { bytes: number }];
        entries.delete(k);
        bytes -= v.bytes;
      }
      return entry.value;
    },
    clear(): void {
      entries.clear();
      bytes = 0;
    },
  };
}

export function createStatsService(opts: StatsServiceOptions) {
  const { db } = opts;
  const now = opts.now ?? Date.now;
  const rollups = createRollupRepo(db);
  const unitsRepo = createUnitsRepo(db);
  const agentsStmt = db.prepare('SELECT id, commune_code FROM agents');
  const cacheSize = opts.cacheSize ?? 256;
  const ownLinesShare = opts.ownLinesShare ?? OWN_LINES_SHARE;
  const dataCacheBytes = (opts.dataCacheMb ?? 128) * 1e6;

  let tree: UnitTree | undefined;
  let lines: Map<number, LineInfo> | undefined;
  /** Agent id → small integer, stable for the life of the service. */
  const agentIndex = new Map<string, number>();
  let version = 0;
  let seen = '';
  // Cheap fingerprint of agents and units: catches writes on this connection that bypass invalidate().
  const fingerprint = db.prepare(
    `SELECT (SELECT count(*) || ':' || coalesce(max(coalesce(updated_at, created_at)), 0) FROM agents) || '/' ||
            (SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM units) || '/' ||
            (SELECT count(*) FROM unit_history) || '/' ||
            (SELECT count(*) || ':' || coalesce(sum(length(group_code) * 31 + length(unit_code) + unicode(unit_code)), 0) FROM unit_group_members) AS f`,
  );
  let genCounter = 0;
  const dayGen = new Map<number, number>();
  const cache = new Map<string, { sig: string; value: unknown }>();
  const dataCache = byteBoundedCache<PeriodData>(dataCacheBytes);
  const cubes = new Map<string, { sig: string; stats: Map<string, GroupStats> }>();
  const MAX_CUBES = 400;
  /** Headline figures (sample count, median) of every unit of a level for a period, from rollup_downloads. */
  const heads = new Map<string, { sig: string; heads: Map<string, Headline> }>();
  /** Decoded rollup_downloads of a period. */
  const downCache = byteBoundedCache<{ line: number; d: Float64Array }[]>(dataCacheBytes / 4);

  /**
   * Writes by other processes (CLI import, rollup rebuild) show up as a new data_version; agent
   * and unit changes on this connection change the fingerprint. Either drops every cached figure.
   */
  function checkExternal(): void {
    const state = `${db.pragma('data_version', { simple: true })}|${(fingerprint.get() as { f: string }).f}`;
    if (state !== seen) {
      seen = state;
      invalidate();
    }
  }

  function invalidate(): void {
    tree = undefined;
    lines = undefined;
    version++;
    cache.clear();
    dataCache.clear();
    cubes.clear();
    heads.clear();
    downCache.clear();
  }

  function getTree(): UnitTree {
    if (!tree) {
      tree = new UnitTree(unitsRepo.all(), unitsRepo.history(), unitsRepo.members());
      towardMemo.clear();
    }
    return tree;
  }

  /** getTree().countsToward, remembered per commune and instant until the units change. */
  const towardMemo = new Map<number, Map<string, string[]>>();
  function towardAt(commune: string, at: number): string[] {
    let m = towardMemo.get(at);
    if (!m) {
      m = new Map();
      towardMemo.set(at, m);
    }
    let v = m.get(commune);
    if (!v) {
      v = getTree().countsToward(commune, at);
      m.set(commune, v);
    }
    return v;
  }

  function indexOf(agentId: string): number {
    let i = agentIndex.get(agentId);
    if (i === undefined) {
      i = agentIndex.size;
      agentIndex.set(agentId, i);
    }
    return i;
  }

  function loadLines(): Map<number, LineInfo> {
    const communes = new Map<string, string | null>();
    for (const a of agentsStmt.all() as { id: string; commune_code: string | null }[]) {
      communes.set(a.id, a.commune_code);
    }
    const m = new Map<number, LineInfo>();
    for (const l of rollups.lines()) {
      m.set(l.line, {
        agent: indexOf(l.agent_id),
        access: l.access as AccessType,
        isp: l.isp,
        commune: communes.get(l.agent_id) ?? null,
      });
    }
    return m;
  }

  /** A line's info; lines made by ingest since the last load are picked up here. */
  function lineInfo(line: number): LineInfo | undefined {
    if (!lines) lines = loadLines();
    let l = lines.get(line);
    if (l === undefined) {
      lines = loadLines();
      l = lines.get(line);
    }
    return l;
  }

  function signature(firstDay: number, lastDay: number): string {
    let g = 0;
    if (dayGen.size) for (let d = firstDay; d <= lastDay; d++) g = Math.max(g, dayGen.get(d) ?? 0);
    return `${version}:${g}`;
  }

  /** A cached figure, recomputed when a day it covers got new tests; `checked`: checkExternal ran just now. */
  function cached<T>(key: string, firstDay: number, lastDay: number, compute: () => T, checked = false): T {
    if (!checked) checkExternal();
    const sig = signature(firstDay, lastDay);
    const hit = cache.get(key);
    if (hit && hit.sig === sig) {
      cache.delete(key);
      cache.set(key, hit);
      return hit.value as T;
    }
    const value = compute();
    cache.set(key, { sig, value });
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return value;
  }

  /** The decoded rollups of a period (kept in a byte-bounded cache: reports of one week share them). */
  function periodData(p: Period): PeriodData {
    return dataCache.get(`${p.kind}:${p.firstDay}`, signature(p.firstDay, p.lastDay), () => {
      const data: PeriodData = { rows: [], bytes: 0 };
      const raw = rollups.byPeriod(p.kind, p.firstDay);
      const { all, starts } = decodeAll(raw.map((r) => r.samples));
      const slices = new Uint8Array(all.length >> 2);
      for (let i = 0; i < slices.length; i++) slices[i] = sliceOfDay(all[i * 4] as number);
      raw.forEach((r, i) => {
        const from = starts[i] as number;
        const to = (starts[i + 1] as number) - (((starts[i + 1] as number) - from) % 4);
        data.rows.push({ line: r.line, f: all.subarray(from, to), slice: slices.subarray(from >> 2, to >> 2) });
      });
      data.bytes = all.byteLength + slices.byteLength + 64 * raw.length;
      return { value: data, bytes: data.bytes };
    });
  }

  /** The download figures of every line in a period (rollup_downloads), decoded; cached like periodData. */
  function downData(p: Period): { line: number; d: Float64Array }[] {
    return downCache.get(`${p.kind}:${p.firstDay}`, signature(p.firstDay, p.lastDay), () => {
      const raw = rollups.downloadsByPeriod(p.kind, p.firstDay);
      const all = decodeSamples(raw.bytes);
      const rows: { line: number; d: Float64Array }[] = [];
      let at = 0;
      raw.lines.forEach((line, i) => {
        const n = Math.floor((raw.lengths[i] as number) / 8);
        rows.push({ line, d: all.subarray(at, at + n) });
        at += n;
      });
      return { value: rows, bytes: all.byteLength + 64 * rows.length };
    });
  }

  /**
   * For one period and level: the keys `unit\0access` each line's tests count toward (the units of
   * that level its commune belongs to at the period's start), worked out once per line and commune.
   */
  function levelKeys(p: Period, level: UnitLevel): (line: number) => string[] {
    const t = getTree();
    const toward = new Map<string, string[]>();
    const byLine = new Map<number, string[]>();
    return (line) => {
      let keys = byLine.get(line);
      if (keys) return keys;
      keys = [];
      const l = lineInfo(line);
      if (l?.commune) {
        let units = toward.get(l.commune);
        if (!units) {
          units = towardAt(l.commune, p.startMs).filter((u) => t.stateAt(u, p.startMs)?.level === level);
          toward.set(l.commune, units);
        }
        for (const u of units) keys.push(`${u}\u0000${l.access}`);
      }
      byLine.set(line, keys);
      return keys;
    };
  }

  function headsCached(p: Period, level: UnitLevel, perAgent: boolean): boolean {
    const sig = signature(p.firstDay, p.lastDay);
    const key = cubeKey(p, level, perAgent);
    return cubes.get(key)?.sig === sig || heads.get(key)?.sig === sig;
  }

  /**
   * Sample count and headline median of every unit of one level for one period: from its full
   * figures when computed already (cube), else from the download figures alone (rollup_downloads,
   * a quarter of the bytes). Same definitions as the full figures (headlineOf / aggregateColumns).
   */
  function headlines(p: Period, level: UnitLevel, perAgent: boolean): Map<string, Headline> {
    const key = cubeKey(p, level, perAgent);
    const sig = signature(p.firstDay, p.lastDay);
    const hit = heads.get(key);
    if (hit && hit.sig === sig) {
      heads.delete(key);
      heads.set(key, hit);
      return hit.heads;
    }
    const full = cubes.get(key);
    if (full && full.sig === sig) {
      const out = new Map<string, Headline>();
      for (const [k, g] of full.stats) out.set(k, { samples: g.samples, median: g.download.median });
      heads.delete(key);
      heads.set(key, { sig, heads: out });
      if (heads.size > MAX_CUBES) heads.delete(heads.keys().next().value as string);
      return out;
    }
    const keysOf = levelKeys(p, level);
    const buckets = new Map<string, DownBucket>();
    for (const row of downData(p)) {
      const keys = keysOf(row.line);
      if (!keys.length) continue;
      const agent = lines?.get(row.line)?.agent ?? 0;
      for (const k of keys) {
        let b = buckets.get(k);
        if (!b) {
          b = new DownBucket();
          buckets.set(k, b);
        }
        b.add(row.d, agent);
      }
    }
    const out = new Map<string, Headline>();
    for (const [k, b] of buckets) out.set(k, b.headline(perAgent));
    heads.delete(key);
    heads.set(key, { sig, heads: out });
    if (heads.size > MAX_CUBES) heads.delete(heads.keys().next().value as string);
    return out;
  }

  function unitInfo(code: string, at?: number): UnitInfo {
    const st = getTree().stateAt(code, at);
    if (!st) throw new HatangError('HATANG_ERR_NOT_FOUND', `no unit ${code}`);
    return { code, name: st.name, type: st.type, level: st.level, parentCode: st.parentCode };
  }

  function mustUnit(code: string): void {
    if (!getTree().get(code)) {
      throw new HatangError('HATANG_ERR_NOT_FOUND', `no unit ${code}`, {
        hint: 'Unit codes are GSO codes; list them with GET /api/v1/units.',
      });
    }
  }

  function resolvePeriod(kind: PeriodKind, at: string | undefined): Period {
    return at === undefined || at === '' ? periodOf(kind, now()) : parsePeriod(kind, at);
  }

  function target(p: Period, access: AccessType): number | null {
    return targetFor(opts.targets, p.year, access);
  }

  function units(q: UnitsQuery): UnitsReport {
    if (!(UNIT_LEVELS as readonly string[]).includes(q.level)) {
      throw new HatangError('HATANG_ERR_VALIDATION', `level must be one of ${UNIT_LEVELS.join(', ')}`);
    }
    checkExternal();
    const cur = naming('at', () => resolvePeriod(q.period, q.at));
    const prev = shiftPeriod(cur, -1);
    const parent = q.parent ?? null;
    if (parent !== null) naming('parent', () => mustUnit(parent));
    const accessList: AccessType[] = q.access ? [q.access] : [...ACCESS_TYPES];
    const isp = q.isp ?? null;
    const byIsp = q.byIsp ?? false;
    const perAgent = q.perAgent ?? false;
    const key = JSON.stringify(['units', cur.key, q.period, q.level, parent, accessList, isp, byIsp, perAgent]);
    const report = cached(key, prev.firstDay, cur.lastDay, () =>
      computeUnits(cur, prev, q.level, parent, accessList, isp, byIsp, perAgent),
    );
    const scope = q.scope ?? 'all';
    if (scope === 'all') return report;
    const t = getTree();
    return { ...report, rows: report.rows.filter((r) => t.canRead(scope, r.unit.code)) };
  }

  /** Group one period's rollups into buckets unit\0access\0isp for the wanted units. */
  function bucketsOf(
    p: Period,
    wanted: Set<string>,
    accessList: AccessType[],
    isp: string | null,
    byIsp: boolean,
  ): Map<string, Bucket> {
    const t = getTree();
    const out = new Map<string, Bucket>();
    // The buckets each line feeds in this period, worked out once per line.
    const feeds = new Map<number, Bucket[]>();
    const toward = new Map<string, string[]>();
    const feedsOf = (line: number): Bucket[] => {
      const l = lineInfo(line);
      if (!l?.commune || !accessList.includes(l.access) || (isp !== null && l.isp !== isp)) return [];
      let units = toward.get(l.commune);
      if (!units) {
        units = t.countsToward(l.commune, p.startMs).filter((c) => wanted.has(c));
        toward.set(l.commune, units);
      }
      return units.map((u) => {
        const k = `${u}\u0000${l.access}\u0000${byIsp ? l.isp : ''}`;
        let b = out.get(k);
        if (!b) {
          b = new Bucket();
          out.set(k, b);
        }
        return b;
      });
    };
    for (const row of periodData(p).rows) {
      let f = feeds.get(row.line);
      if (!f) {
        f = feedsOf(row.line);
        feeds.set(row.line, f);
      }
      const agent = lines?.get(row.line)?.agent ?? 0;
      for (const b of f) b.add(row.f, agent, row.slice);
    }
    return out;
  }

  /**
   * Every unit's figures for one period, all levels and groups at once, × access type: one pass
   * over the period's rollups. Reports and trends without an ISP filter read from these, so a
   * week is computed once however many pages ask about it; they are recomputed when ingest
   * touches a day of the period.
   */
  function cubeKey(p: Period, level: UnitLevel, perAgent: boolean): string {
    return `${p.kind}:${p.firstDay}:${level}:${perAgent ? 1 : 0}`;
  }

  function cubeCached(p: Period, level: UnitLevel, perAgent: boolean): boolean {
    return cubes.get(cubeKey(p, level, perAgent))?.sig === signature(p.firstDay, p.lastDay);
  }

  /** The figures of every unit of one level for one period (see above). */
  function cube(p: Period, level: UnitLevel, perAgent: boolean): Map<string, GroupStats> {
    const key = cubeKey(p, level, perAgent);
    const sig = signature(p.firstDay, p.lastDay);
    const hit = cubes.get(key);
    if (hit && hit.sig === sig) {
      cubes.delete(key);
      cubes.set(key, hit);
      return hit.stats;
    }
    const keysOf = levelKeys(p, level);
    const buckets = new Map<string, Bucket>();
    const feeds = new Map<number, Bucket[]>();
    for (const row of periodData(p).rows) {
      let f = feeds.get(row.line);
      if (!f) {
        f = keysOf(row.line).map((k) => {
          let b = buckets.get(k);
          if (!b) {
            b = new Bucket();
            buckets.set(k, b);
          }
          return b;
        });
        feeds.set(row.line, f);
      }
      const agent = lines?.get(row.line)?.agent ?? 0;
      for (const b of f) b.add(row.f, agent, row.slice);
    }
    const stats = new Map<string, GroupStats>();
    const floor = sampleFloorFor(p.kind);
    for (const [k, b] of buckets) {
      const access = k.slice(k.indexOf('\u0000') + 1) as AccessType;
      stats.set(
        k,
        aggregateColumns(b.columns(), { targetBps: target(p, access), sampleFloor: floor, perAgentFirst: perAgent }),
      );
    }
    cubes.delete(key);
    cubes.set(key, { sig, stats });
    if (cubes.size > MAX_CUBES) cubes.delete(cubes.keys().next().value as string);
    return stats;
  }

  /** A unit's figures from a cube; a unit without tests gets the empty figures. */
  function fromCube(c: Map<string, GroupStats>, p: Period, unit: string, access: AccessType, perAgent: boolean) {
    return (
      c.get(`${unit}\u0000${access}`) ??
      aggregateColumns(EMPTY.columns(), {
        targetBps: target(p, access),
        sampleFloor: sampleFloorFor(p.kind),
        perAgentFirst: perAgent,
      })
    );
  }

  /**
   * The full figures of `wanted` (units of `level`) in `cur` and their headline in `prev`, from
   * their own lines' rollups (the line index), when those lines are at most ownLinesShare of all:
   * what cube() and headlines() give for these units, without reading and aggregating every
   * unit of the level. Lines are read in line order, as cube() adds them, so every figure
   * (the mean's sum too) is the same. Undefined when the units have too many lines.
   */
  function fewUnits(
    cur: Period,
    prev: Period,
    level: UnitLevel,
    wanted: ReadonlySet<string>,
    perAgent: boolean,
  ): { cur: Map<string, GroupStats>; prev: Map<string, Headline> } | undefined {
    const t = getTree();
    if (!lines) lines = loadLines();
    const keysAt = (commune: string, p: Period, access: AccessType) =>
      towardAt(commune, p.startMs)
        .filter((u) => wanted.has(u) && t.stateAt(u, p.startMs)?.level === level)
        .map((u) => `${u}\u0000${access}`);
    const candidates: number[] = [];
    for (const [line, l] of lines) {
      if (!l.commune) continue;
      if (keysAt(l.commune, cur, l.access).length || keysAt(l.commune, prev, l.access).length) candidates.push(line);
    }
    if (candidates.length > lines.size * ownLinesShare) return undefined;
    candidates.sort((a, b) => a - b);
    const curBuckets = new Map<string, Bucket>();
    const prevBuckets = new Map<string, Bucket>();
    const into = (m: Map<string, Bucket>, k: string) => {
      let b = m.get(k);
      if (!b) {
        b = new Bucket();
        m.set(k, b);
      }
      return b;
    };
    for (const line of candidates) {
      const l = lines.get(line) as LineInfo;
      for (const r of rollups.byLine(line, cur.kind, prev.firstDay, cur.firstDay)) {
        const f = decodeSamples(r.samples);
        if (r.firstDay === cur.firstDay) {
          const slice = new Uint8Array(f.length >> 2);
          for (let i = 0; i < slice.length; i++) slice[i] = sliceOfDay(f[i * 4] as number);
          for (const k of keysAt(l.commune as string, cur, l.access)) into(curBuckets, k).add(f, l.agent, slice);
        } else if (r.firstDay === prev.firstDay) {
          for (const k of keysAt(l.commune as string, prev, l.access)) into(prevBuckets, k).add(f, l.agent);
        }
      }
    }
    const stats = new Map<string, GroupStats>();
    const floor = sampleFloorFor(cur.kind);
    for (const [k, b] of curBuckets) {
      const access = k.slice(k.indexOf('\u0000') + 1) as AccessType;
      stats.set(
        k,
        aggregateColumns(b.columns(), { targetBps: target(cur, access), sampleFloor: floor, perAgentFirst: perAgent }),
      );
    }
    const heads = new Map<string, Headline>();
    for (const [k, b] of prevBuckets) heads.set(k, headlineOf(b.columns(), perAgent));
    return { cur: stats, prev: heads };
  }

  function computeUnits(
    cur: Period,
    prev: Period,
    level: UnitLevel,
    parent: string | null,
    accessList: AccessType[],
    isp: string | null,
    byIsp: boolean,
    perAgent: boolean,
  ): UnitsReport {
    const t = getTree();
    const wanted = t.unitsAt(level, parent, cur);
    if (isp === null && !byIsp) {
      // A few units (one commune) whose period is not computed yet: from their own lines. Else the
      // figures of every unit of the level, kept for the next report.
      const few = cubeCached(cur, level, perAgent)
        ? undefined
        : fewUnits(cur, prev, level, new Set(wanted.map((u) => u.code)), perAgent);
      const curCube = few?.cur ?? cube(cur, level, perAgent);
      // The period before only gives its sample count and median: from its figures when they are
      // computed already, else from its download figures alone.
      const prevHeads = few?.prev ?? headlines(prev, level, perAgent);
      const rows: UnitStatsRow[] = [];
      for (const u of wanted) {
        const info = unitInfo(u.code, cur.startMs);
        for (const access of accessList) {
          const stats = fromCube(curCube, cur, u.code, access, perAgent);
          rows.push(
            reportRow(info, access, null, stats, { ...(prevHeads.get(`${u.code}\u0000${access}`) ?? NO_HEADLINE) }),
          );
        }
      }
      return {
        period: periodInfo(cur),
        previousPeriod: periodInfo(prev),
        level,
        parent: parent === null ? null : naming('parent', () => unitInfo(parent, cur.startMs)),
        access: accessList,
        isp,
        byIsp,
        perAgent,
        rows,
      };
    }
    const wantedSet = new Set(wanted.map((u) => u.code));
    const current = bucketsOf(cur, wantedSet, accessList, isp, byIsp);
    const before = bucketsOf(prev, wantedSet, accessList, isp, byIsp);
    const rows: UnitStatsRow[] = [];
    const floor = sampleFloorFor(cur.kind);
    for (const u of wanted) {
      const info = unitInfo(u.code, cur.startMs);
      let isps = [isp ?? ''];
      if (byIsp) {
        const found = new Set<string>();
        for (const m of [current, before]) {
          for (const k of m.keys()) {
            const [code, , i] = k.split('\u0000') as [string, string, string];
            if (code === u.code) found.add(i);
          }
        }
        isps = found.size ? [...found].sort() : [''];
      }
      for (const access of accessList) {
        for (const i of isps) {
          const k = `${u.code}\u0000${access}\u0000${byIsp ? i : ''}`;
          const stats = aggregateColumns((current.get(k) ?? EMPTY).columns(), {
            targetBps: target(cur, access),
            sampleFloor: floor,
            perAgentFirst: perAgent,
          });
          const previous = headlineOf((before.get(k) ?? EMPTY).columns(), perAgent);
          rows.push(reportRow(info, access, byIsp ? i || null : isp, stats, previous));
        }
      }
    }
    return {
      period: periodInfo(cur),
      previousPeriod: periodInfo(prev),
      level,
      parent: parent === null ? null : naming('parent', () => unitInfo(parent, cur.startMs)),
      access: accessList,
      isp,
      byIsp,
      perAgent,
      rows,
    };
  }

  function trend(q: TrendQuery): TrendReport {
    checkExternal();
    naming('unit', () => mustUnit(q.unit));
    const kind = q.period ?? 'week';
    const max = kind === 'week' ? MAX_TREND_WEEKS : MAX_TREND_MONTHS;
    const count = q.count ?? (kind === 'week' ? 52 : 12);
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new HatangError('HATANG_ERR_OUT_OF_RANGE', `${kind}s must be an integer from 1 to ${max}`);
    }
    const last = naming('at', () => resolvePeriod(kind, q.at));
    const periods = periodsEndingAt(last, count);
    const first = periods[0] as Period;
    const accessList: AccessType[] = q.access ? [q.access] : [...ACCESS_TYPES];
    const isp = q.isp ?? null;
    const perAgent = q.perAgent ?? false;
    const key = JSON.stringify(['trend', q.unit, kind, last.key, count, accessList, isp, perAgent]);
    return cached(key, first.firstDay, last.lastDay, () => computeTrend(q.unit, periods, accessList, isp, perAgent));
  }

  function computeTrend(
    unit: string,
    periods: Period[],
    accessList: AccessType[],
    isp: string | null,
    perAgent: boolean,
  ): TrendReport {
    const t = getTree();
    if (!lines) lines = loadLines();
    const first = periods[0] as Period;
    const last = periods[periods.length - 1] as Period;
    // Period index by first day.
    const idxOf = new Map(periods.map((p, i) => [p.firstDay, i]));
    // Which communes count toward the unit in which periods (merges and moves change it over time).
    const countsIn = new Map<string, boolean[]>();
    const communeCounts = (commune: string): boolean[] => {
      let v = countsIn.get(commune);
      if (!v) {
        v = periods.map((p) => t.countsToward(commune, p.startMs).includes(unit));
        countsIn.set(commune, v);
      }
      return v;
    };
    const candidates: number[] = [];
    for (const [line, l] of lines) {
      if (!l.commune || !accessList.includes(l.access) || (isp !== null && l.isp !== isp)) continue;
      if (communeCounts(l.commune).some(Boolean)) candidates.push(line);
    }
    // A large unit, or one whose periods are all computed already, reads the per-period cubes.
    const level = t.get(unit)?.level as UnitLevel;
    if (isp === null && (candidates.length > 64 || periods.every((p) => cubeCached(p, level, perAgent)))) {
      return {
        unit: unitInfo(unit, last.startMs),
        period: first.kind,
        isp,
        perAgent,
        series: accessList.map((access) => {
          let prevMedian: number | null = null;
          const points = periods.map((p, i) => {
            const stats = fromCube(cube(p, level, perAgent), p, unit, access, perAgent);
            const change = i === 0 ? null : changeOf(stats.download.median, prevMedian);
            prevMedian = stats.download.median;
            return { period: periodInfo(p), ...stats, change };
          });
          return { access, points };
        }),
      };
    }
    const buckets = new Map<AccessType, Bucket[]>(accessList.map((a) => [a, periods.map(() => new Bucket())]));
    const take = (pi: number | undefined, line: number, f: Float64Array) => {
      const l = lines?.get(line);
      if (pi === undefined || !l || !l.commune) return;
      const b = buckets.get(l.access);
      if (!b) return;
      if (isp !== null && l.isp !== isp) return;
      if (!communeCounts(l.commune)[pi]) return;
      (b[pi] as Bucket).add(f, l.agent);
    };
    // A small unit reads its own lines through the (line, period) index.
    for (const line of candidates) {
      for (const r of rollups.byLine(line, first.kind, first.firstDay, last.firstDay)) {
        take(idxOf.get(r.firstDay), r.line, decodeSamples(r.samples));
      }
    }
    return {
      unit: unitInfo(unit, last.startMs),
      period: first.kind,
      isp,
      perAgent,
      series: accessList.map((access) => {
        const b = buckets.get(access) as Bucket[];
        let prevMedian: number | null = null;
        const points = periods.map((p, i) => {
          const stats = aggregateColumns((b[i] as Bucket).columns(), {
            targetBps: target(p, access),
            sampleFloor: sampleFloorFor(p.kind),
            perAgentFirst: perAgent,
          });
          const change = i === 0 ? null : changeOf(stats.download.median, prevMedian);
          prevMedian = stats.download.median;
          return { period: periodInfo(p), ...stats, change };
        });
        return { access, points };
      }),
    };
  }

  /**
   * units() with the headline figures only (sample count, median, target, attainment; the period
   * before and the change), every ISP: from the download figures alone unless the full figures of
   * the period are computed already. What the dashboard's tables of districts and communes show.
   */
  function headlineUnits(q: Omit<UnitsQuery, 'isp' | 'byIsp'>): HeadlineUnitsReport {
    if (!(UNIT_LEVELS as readonly string[]).includes(q.level)) {
      throw new HatangError('HATANG_ERR_VALIDATION', `level must be one of ${UNIT_LEVELS.join(', ')}`);
    }
    checkExternal();
    const cur = naming('at', () => resolvePeriod(q.period, q.at));
    const prev = shiftPeriod(cur, -1);
    const parent = q.parent ?? null;
    if (parent !== null) naming('parent', () => mustUnit(parent));
    const accessList: AccessType[] = q.access ? [q.access] : [...ACCESS_TYPES];
    const perAgent = q.perAgent ?? false;
    const level = q.level;
    const key = JSON.stringify(['headunits', cur.key, q.period, level, parent, accessList, perAgent]);
    const report = cached(key, prev.firstDay, cur.lastDay, (): HeadlineUnitsReport => {
      const curHeads = headlines(cur, level, perAgent);
      const prevHeads = headlines(prev, level, perAgent);
      const floor = sampleFloorFor(cur.kind);
      const rows: HeadlineUnitRow[] = [];
      for (const u of getTree().unitsAt(level, parent, cur)) {
        const info = unitInfo(u.code, cur.startMs);
        for (const access of accessList) {
          const k = `${u.code}\u0000${access}`;
          const stats = headlineStats(curHeads.get(k) ?? NO_HEADLINE, {
            targetBps: target(cur, access),
            sampleFloor: floor,
          });
          rows.push(reportRow(info, access, null, stats, { ...(prevHeads.get(k) ?? NO_HEADLINE) }));
        }
      }
      return {
        period: periodInfo(cur),
        previousPeriod: periodInfo(prev),
        level,
        parent: parent === null ? null : naming('parent', () => unitInfo(parent, cur.startMs)),
        access: accessList,
        perAgent,
        rows,
      };
    });
    const scope = q.scope ?? 'all';
    if (scope === 'all') return report;
    const t = getTree();
    return { ...report, rows: report.rows.filter((r) => t.canRead(scope, r.unit.code)) };
  }

  /** Periods and options of a headline trend query, checked. */
  function headlineParams(q: Omit<TrendQuery, 'unit'>) {
    if (q.isp !== undefined) throw new HatangError('HATANG_ERR_VALIDATION', 'headline trends are for every ISP');
    const kind = q.period ?? 'week';
    const max = kind === 'week' ? MAX_TREND_WEEKS : MAX_TREND_MONTHS;
    const count = q.count ?? (kind === 'week' ? 52 : 12);
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new HatangError('HATANG_ERR_OUT_OF_RANGE', `${kind}s must be an integer from 1 to ${max}`);
    }
    const last = naming('at', () => resolvePeriod(kind, q.at));
    const periods = periodsEndingAt(last, count);
    const accessList: AccessType[] = q.access ? [q.access] : [...ACCESS_TYPES];
    const perAgent = q.perAgent ?? false;
    return { kind, count, last, periods, first: periods[0] as Period, accessList, perAgent };
  }

  function headlineTrend(q: TrendQuery): HeadlineTrend {
    return headlineTrends({ ...q, units: [q.unit] }).get(q.unit) as HeadlineTrend;
  }

  /**
   * The headline trends of several units at once (a province's districts, a report's communes):
   * whether each reads its own lines or whole periods is decided for all of them together, by
   * how many lines they have between them.
   */
  function headlineTrends(q: Omit<TrendQuery, 'unit'> & { units: readonly string[] }): Map<string, HeadlineTrend> {
    checkExternal();
    for (const u of q.units) naming('unit', () => mustUnit(u));
    const { kind, count, last, periods, first, accessList, perAgent } = headlineParams(q);
    const keyOf = (u: string) => JSON.stringify(['headlines', u, kind, last.key, count, accessList, perAgent]);
    const sig = signature(first.firstDay, last.lastDay);
    const missing = q.units.filter((u) => cache.get(keyOf(u))?.sig !== sig);
    let mode: 'own' | 'level' | undefined;
    if (missing.length > 1) {
      if (!lines) lines = loadLines();
      mode = linesToward(new Set(missing), periods, accessList) <= lines.size * ownLinesShare ? 'own' : 'level';
    }
    const out = new Map<string, HeadlineTrend>();
    for (const u of q.units) {
      out.set(
        u,
        cached(
          keyOf(u),
          first.firstDay,
          last.lastDay,
          () => computeHeadlineTrend(u, periods, accessList, perAgent, mode),
          true,
        ),
      );
    }
    return out;
  }

  /** How many lines count toward any of `units` in any of the periods (one pass over the lines). */
  function linesToward(units: ReadonlySet<string>, periods: Period[], accessList: AccessType[]): number {
    if (!lines) lines = loadLines();
    const byCommune = new Map<string, boolean>();
    let n = 0;
    for (const l of lines.values()) {
      if (!l.commune || !accessList.includes(l.access)) continue;
      let counts = byCommune.get(l.commune);
      if (counts === undefined) {
        const commune = l.commune;
        counts = periods.some((p) => towardAt(commune, p.startMs).some((u) => units.has(u)));
        byCommune.set(commune, counts);
      }
      if (counts) n++;
    }
    return n;
  }

  /** The lines whose tests count toward `unit` in any of the periods, and in which. */
  function candidatesOf(unit: string, periods: Period[], accessList: AccessType[]) {
    if (!lines) lines = loadLines();
    const countsIn = new Map<string, boolean[]>();
    const communeCounts = (commune: string): boolean[] => {
      let v = countsIn.get(commune);
      if (!v) {
        v = periods.map((p) => towardAt(commune, p.startMs).includes(unit));
        countsIn.set(commune, v);
      }
      return v;
    };
    const candidates: number[] = [];
    const any = new Map<string, boolean>();
    for (const [line, l] of lines) {
      if (!l.commune || !accessList.includes(l.access)) continue;
      let counts = any.get(l.commune);
      if (counts === undefined) {
        counts = communeCounts(l.commune).some(Boolean);
        any.set(l.commune, counts);
      }
      if (counts) candidates.push(line);
    }
    return { candidates, communeCounts };
  }

  /**
   * A unit's headline figures per period. A small unit (a commune) whose periods are not computed
   * yet reads its own lines' download figures through the line index; a larger one the headline
   * figures of its whole level per period (headlines), which then serve every unit of the level:
   * the overview's districts, or every commune of a report, cost one pass per period together.
   */
  function computeHeadlineTrend(
    unit: string,
    periods: Period[],
    accessList: AccessType[],
    perAgent: boolean,
    mode?: 'own' | 'level',
  ): HeadlineTrend {
    const t = getTree();
    if (!lines) lines = loadLines();
    const first = periods[0] as Period;
    const last = periods[periods.length - 1] as Period;
    const level = t.get(unit)?.level as UnitLevel;
    let own: Map<AccessType, DownBucket[]> | undefined;
    const pick = mode !== 'level' && !periods.every((p) => headsCached(p, level, perAgent));
    const { candidates, communeCounts } = pick
      ? candidatesOf(unit, periods, accessList)
      : { candidates: [] as number[], communeCounts: () => [] as boolean[] };
    if (pick && (mode === 'own' || candidates.length <= lines.size * ownLinesShare)) {
      const idxOf = new Map(periods.map((p, i) => [p.firstDay, i]));
      own = new Map(accessList.map((a) => [a, periods.map(() => new DownBucket())]));
      for (const line of candidates) {
        const l = lines.get(line) as LineInfo;
        const b = own.get(l.access) as DownBucket[];
        const counts = communeCounts(l.commune as string);
        for (const [firstDay, down] of rollups.downloadsByLine(line, first.kind, first.firstDay, last.firstDay)) {
          const pi = idxOf.get(firstDay);
          if (pi !== undefined && counts[pi]) (b[pi] as DownBucket).add(decodeSamples(down), l.agent);
        }
      }
    }
    return {
      unit: unitInfo(unit, last.startMs),
      period: first.kind,
      perAgent,
      series: accessList.map((access) => {
        let prevMedian: number | null = null;
        const points = periods.map((p, i): HeadlinePoint => {
          const h = own
            ? ((own.get(access) as DownBucket[])[i] as DownBucket).headline(perAgent)
            : (headlines(p, level, perAgent).get(`${unit}\u0000${access}`) ?? NO_HEADLINE);
          const stats = headlineStats(h, { targetBps: target(p, access), sampleFloor: sampleFloorFor(p.kind) });
          const change = i === 0 ? null : changeOf(stats.download.median, prevMedian);
          prevMedian = stats.download.median;
          return { period: periodInfo(p), ...stats, change };
        });
        return { access, points };
      }),
    };
  }

  // Background refresh of periods ingest touched (refreshDelayMs): pages then find them computed.
  const refreshDelay = opts.refreshDelayMs ?? 0;
  const refreshMaxWait = opts.refreshMaxWaitMs ?? 30_000;
  const dirty = new Map<string, Period>();
  let refreshTimer: NodeJS.Timeout | undefined;
  let firstDirtyAt = 0;
  let refreshing = false;
  let closed = false;

  function scheduleRefresh(): void {
    if (closed) return;
    const t = Date.now();
    if (refreshTimer === undefined) firstDirtyAt = t;
    clearTimeout(refreshTimer);
    const wait = Math.max(0, Math.min(refreshDelay, firstDirtyAt + refreshMaxWait - t));
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void refresh();
    }, wait);
    refreshTimer.unref();
  }

  async function refresh(): Promise<void> {
    if (refreshing || closed) return;
    refreshing = true;
    const started = Date.now();
    let n = 0;
    try {
      while (dirty.size && !closed) {
        const [key, p] = dirty.entries().next().value as [string, Period];
        dirty.delete(key);
        for (const level of UNIT_LEVELS) {
          if (closed) break;
          checkExternal();
          cube(p, level, false);
          await new Promise((r) => setImmediate(r));
        }
        n++;
      }
    } finally {
      refreshing = false;
    }
    if (n) opts.onRefresh?.(n, Date.now() - started);
  }

  return {
    units,
    trend,
    /**
     * trend() with the headline figures only (sample count, median, target and attainment) per
     * period, from the download figures alone unless the full figures are computed already: what
     * the dashboard's charts, tables and "weeks short" need. Every ISP (no `isp`).
     */
    headlineTrend,
    headlineTrends,
    headlineUnits,
    /** Target download for a year and access type, bits/s (null when none is configured). */
    targetFor: (year: number, access: AccessType) => targetFor(opts.targets, year, access),
    /** The configured target table, Mbit/s. */
    targets: opts.targets,
    /** The period containing now (or `ms`). */
    currentPeriod: (kind: PeriodKind, ms?: number) => periodOf(kind, ms ?? now()),
    /** The unit hierarchy (reloaded after any unit change). */
    tree(): UnitTree {
      checkExternal();
      return getTree();
    },
    /** The unit as it was at `at` (current without). */
    unit: (code: string, at?: number) => {
      checkExternal();
      mustUnit(code);
      return unitInfo(code, at);
    },
    /** Ingest wrote rollups for these local days: cached figures that cover them are recomputed. */
    touch(days: readonly number[]): void {
      genCounter++;
      lines = undefined; // ingest may have made new lines
      for (const d of days) {
        dayGen.set(d, genCounter);
        if (refreshDelay > 0) {
          const w = weekOfDay(d);
          dirty.set(`week:${w.firstDay}`, w);
          const m = periodOf('month', dayStartMs(d));
          dirty.set(`month:${m.firstDay}`, m);
        }
      }
      if (refreshDelay > 0 && days.length) scheduleRefresh();
    },
    /** Stop background work (the app is closing). */
    close(): void {
      closed = true;
      clearTimeout(refreshTimer);
      refreshTimer = undefined;
      dirty.clear();
    },
    /** Resolves when no background refresh is pending or running (tests, benchmarks). */
    async settled(): Promise<void> {
      while (refreshTimer !== undefined || refreshing) await new Promise((r) => setTimeout(r, 20));
    },
    /** Units or agents changed: reload them and drop every cached figure. */
    invalidate,
    /**
     * Compute the figures of the last `weeks` weeks and `months` months (newest first) ahead of
     * the first page that asks, yielding to the event loop between periods. Resolves when done
     * or when `signal` aborts.
     */
    async warmUp(o: { weeks?: number; months?: number; signal?: AbortSignal } = {}): Promise<number> {
      let done = 0;
      for (const [kind, n] of [
        ['week', o.weeks ?? 53],
        ['month', o.months ?? 13],
      ] as const) {
        let p = periodOf(kind, now());
        for (let i = 0; i < n; i++, p = shiftPeriod(p, -1)) {
          if (o.signal?.aborted) return done;
          for (const level of UNIT_LEVELS) {
            if (o.signal?.aborted) return done;
            checkExternal();
            cube(p, level, false);
            await new Promise((r) => setImmediate(r));
          }
          done++;
        }
      }
      return done;
    },
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
