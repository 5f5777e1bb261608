import {
  ACCESS_TYPES,
  type AccessType,
  aggregateSpeed,
  type Change,
  changeOf,
  dayKey,
  type GroupStats,
  HatangError,
  MAX_TREND_MONTHS,
  MAX_TREND_WEEKS,
  type Period,
  type PeriodKind,
  parsePeriod,
  periodOf,
  periodsEndingAt,
  REPORT_TZ_OFFSET_MS,
  type SpeedSample,
  sampleFloorFor,
  shiftPeriod,
  type TargetTable,
  targetFor,
} from '@hatang/shared';
import { type Scope, UnitTree } from '../geography/tree.js';
import type { Db } from '../storage/db.js';
import { createRollupRepo, decodeSamples, type RollupRow } from '../storage/rollups.js';
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

interface AgentInfo {
  commune: string | null;
}

function decodeInto(row: RollupRow, agent: number, out: SpeedSample[]): void {
  const f = decodeSamples(row.samples);
  for (let i = 0; i + 3 < f.length; i += 4) {
    const down = f[i + 1] as number;
    const up = f[i + 2] as number;
    const lat = f[i + 3] as number;
    out.push({
      at: f[i] as number,
      agent,
      down: Number.isNaN(down) ? null : down,
      up: Number.isNaN(up) ? null : up,
      lat: Number.isNaN(lat) ? null : lat,
    });
  }
}

export function createStatsService(opts: StatsServiceOptions) {
  const { db } = opts;
  const now = opts.now ?? Date.now;
  const rollups = createRollupRepo(db);
  const unitsRepo = createUnitsRepo(db);
  const agentsStmt = db.prepare('SELECT id, commune_code FROM agents');
  const cacheSize = opts.cacheSize ?? 256;

  let tree: UnitTree | undefined;
  let agents: Map<string, AgentInfo> | undefined;
  /** Agent id → small integer, so samples carry a number. */
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
    agents = undefined;
    version++;
    cache.clear();
  }

  function getTree(): UnitTree {
    if (!tree) tree = new UnitTree(unitsRepo.all(), unitsRepo.history(), unitsRepo.members());
    return tree;
  }

  function getAgents(): Map<string, AgentInfo> {
    if (!agents) {
      agents = new Map();
      for (const a of agentsStmt.all() as { id: string; commune_code: string | null }[]) {
        agents.set(a.id, { commune: a.commune_code });
        if (!agentIndex.has(a.id)) agentIndex.set(a.id, agentIndex.size);
      }
    }
    return agents;
  }

  function indexOf(agentId: string): number {
    let i = agentIndex.get(agentId);
    if (i === undefined) {
      i = agentIndex.size;
      agentIndex.set(agentId, i);
    }
    return i;
  }

  function signature(firstDay: number, lastDay: number): string {
    let g = 0;
    if (dayGen.size) for (let d = firstDay; d <= lastDay; d++) g = Math.max(g, dayGen.get(d) ?? 0);
    return `${version}:${g}`;
  }

  function cached<T>(key: string, firstDay: number, lastDay: number, compute: () => T): T {
    checkExternal();
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
    const cur = resolvePeriod(q.period, q.at);
    const prev = shiftPeriod(cur, -1);
    const parent = q.parent ?? null;
    if (parent !== null) mustUnit(parent);
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
    const ag = getAgents();
    const wanted = t.unitsAt(level, parent, cur);
    const wantedSet = new Set(wanted.map((u) => u.code));
    // buckets[periodIndex] : key unit\0access\0isp → samples
    const buckets: Map<string, SpeedSample[]>[] = [new Map(), new Map()];
    const ispsOf = new Map<string, Set<string>>();
    const periods = [prev, cur];
    const membership = new Map<string, string[]>();
    const targetsOf = (commune: string, pi: number): string[] => {
      const k = `${commune}\u0000${pi}`;
      let m = membership.get(k);
      if (!m) {
        m = t.countsToward(commune, (periods[pi] as Period).startMs).filter((c) => wantedSet.has(c));
        membership.set(k, m);
      }
      return m;
    };
    for (const row of rollups.byDays(prev.firstDay, cur.lastDay)) {
      if (!accessList.includes(row.access as AccessType)) continue;
      if (isp !== null && row.isp !== isp) continue;
      const commune = ag.get(row.agent_id)?.commune;
      if (!commune) continue;
      const pi = row.day >= cur.firstDay ? 1 : 0;
      const toward = targetsOf(commune, pi);
      if (toward.length === 0) continue;
      const samples: SpeedSample[] = [];
      decodeInto(row, indexOf(row.agent_id), samples);
      const rowIsp = byIsp ? row.isp : '';
      for (const u of toward) {
        const k = `${u}\u0000${row.access}\u0000${rowIsp}`;
        const b = buckets[pi] as Map<string, SpeedSample[]>;
        const list = b.get(k);
        if (list) for (const s of samples) list.push(s);
        else b.set(k, samples.slice());
        if (byIsp) {
          let set = ispsOf.get(u);
          if (!set) {
            set = new Set();
            ispsOf.set(u, set);
          }
          set.add(row.isp);
        }
      }
    }
    const rows: UnitStatsRow[] = [];
    const floor = sampleFloorFor(cur.kind);
    for (const u of wanted) {
      const info = unitInfo(u.code, cur.startMs);
      const isps = byIsp ? [...(ispsOf.get(u.code) ?? [])].sort() : [isp ?? ''];
      for (const access of accessList) {
        for (const i of isps.length ? isps : ['']) {
          const k = `${u.code}\u0000${access}\u0000${byIsp ? i : ''}`;
          const stats = aggregateSpeed(buckets[1]?.get(k) ?? [], {
            targetBps: target(cur, access),
            sampleFloor: floor,
            perAgentFirst: perAgent,
          });
          const before = aggregateSpeed(buckets[0]?.get(k) ?? [], {
            targetBps: target(prev, access),
            sampleFloor: floor,
            perAgentFirst: perAgent,
          });
          rows.push({
            unit: info,
            access,
            isp: byIsp ? i || null : isp,
            ...stats,
            previous: { samples: before.samples, median: before.download.median },
            change: changeOf(stats.download.median, before.download.median),
          });
        }
      }
    }
    return {
      period: periodInfo(cur),
      previousPeriod: periodInfo(prev),
      level,
      parent: parent === null ? null : unitInfo(parent, cur.startMs),
      access: accessList,
      isp,
      byIsp,
      perAgent,
      rows,
    };
  }

  function trend(q: TrendQuery): TrendReport {
    checkExternal();
    mustUnit(q.unit);
    const kind = q.period ?? 'week';
    const max = kind === 'week' ? MAX_TREND_WEEKS : MAX_TREND_MONTHS;
    const count = q.count ?? (kind === 'week' ? 52 : 12);
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new HatangError('HATANG_ERR_OUT_OF_RANGE', `${kind}s must be an integer from 1 to ${max}`);
    }
    const last = resolvePeriod(kind, q.at);
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
    const ag = getAgents();
    const first = periods[0] as Period;
    const last = periods[periods.length - 1] as Period;
    // Period index of each local day.
    const idxOfDay = new Int32Array(last.lastDay - first.firstDay + 1);
    periods.forEach((p, i) => {
      idxOfDay.fill(i, p.firstDay - first.firstDay, p.lastDay - first.firstDay + 1);
    });
    // Which agents count toward the unit in which periods (merges and moves change it over time).
    const countsIn = new Map<string, boolean[]>();
    const communeCounts = (commune: string): boolean[] => {
      let v = countsIn.get(commune);
      if (!v) {
        v = periods.map((p) => t.countsToward(commune, p.startMs).includes(unit));
        countsIn.set(commune, v);
      }
      return v;
    };
    const candidates: string[] = [];
    for (const [id, a] of ag) if (a.commune && communeCounts(a.commune).some(Boolean)) candidates.push(id);
    // A small unit reads its agents' rows through the (agent, day) index; a large one scans the days.
    const rows =
      candidates.length * periods.length * 7 < 200_000 || candidates.length < 50
        ? candidates.flatMap((id) => rollups.byAgentDays(id, first.firstDay, last.lastDay))
        : rollups.byDays(first.firstDay, last.lastDay);
    const buckets = new Map<AccessType, SpeedSample[][]>(accessList.map((a) => [a, periods.map(() => [])]));
    for (const row of rows) {
      const b = buckets.get(row.access as AccessType);
      if (!b) continue;
      if (isp !== null && row.isp !== isp) continue;
      const commune = ag.get(row.agent_id)?.commune;
      if (!commune) continue;
      const pi = idxOfDay[row.day - first.firstDay] as number;
      if (!communeCounts(commune)[pi]) continue;
      decodeInto(row, indexOf(row.agent_id), b[pi] as SpeedSample[]);
    }
    return {
      unit: unitInfo(unit, last.startMs),
      period: first.kind,
      isp,
      perAgent,
      series: accessList.map((access) => {
        const b = buckets.get(access) as SpeedSample[][];
        let prevMedian: number | null = null;
        const points = periods.map((p, i) => {
          const stats = aggregateSpeed(b[i] as SpeedSample[], {
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

  return {
    units,
    trend,
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
      for (const d of days) dayGen.set(d, genCounter);
    },
    /** Units or agents changed: reload them and drop every cached figure. */
    invalidate,
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
