import {
  HatangError,
  type Ipv6HostObs,
  type Ipv6Report,
  type Ipv6TargetObs,
  ipv6Report,
  isoWeekOf,
  isoWeekRange,
  previousIsoWeek,
  REPORT_TZ_OFFSET_MS,
  type SpeedByFamily,
  type SpeedFamilyObs,
  speedByFamily,
} from '@hatang/shared';
import type { Db } from '../storage/db.js';
import { syncIpv6 } from './sync.js';

/** Names of a commune and its district, when the geography table (migration 10, `units`) has them. */
export interface UnitNames {
  name: string | null;
  districtCode: string | null;
  districtName: string | null;
}

const has = (db: Db, table: string) =>
  db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;

/**
 * Commune and district names for commune codes, read from `units` when that table exists (the
 * geography area adds it); without it, or for an unknown code, every name is null.
 */
export function unitNames(db: Db, codes: readonly string[]): Map<string, UnitNames> {
  const out = new Map<string, UnitNames>();
  const none = { name: null, districtCode: null, districtName: null };
  if (codes.length === 0) return out;
  if (!has(db, 'units')) {
    for (const c of codes) out.set(c, none);
    return out;
  }
  const q = db.prepare(
    `SELECT u.name AS name, u.parent_code AS districtCode, d.name AS districtName
       FROM units u LEFT JOIN units d ON d.code = u.parent_code WHERE u.code = ?`,
  );
  for (const c of codes) out.set(c, (q.get(c) as UnitNames | undefined) ?? none);
  return out;
}

/** The observations of [startMs, endMs), each with its agent's commune (as the agent is assigned now). */
export function ipv6Observations(
  db: Db,
  range: { startMs: number; endMs: number },
): { hosts: Ipv6HostObs[]; targets: Ipv6TargetObs[] } {
  syncIpv6(db);
  // A few hundred agents: join their communes here rather than once per observation row in SQL.
  const commune = new Map(
    (db.prepare('SELECT id, commune_code FROM agents').raw().all() as [string, string | null][]).map(([id, c]) => [
      id,
      c,
    ]),
  );
  const hostRows = db
    .prepare(
      `SELECT agent_id, started_at, global_address, default_route
         FROM ipv6_host_obs WHERE started_at >= ? AND started_at < ?`,
    )
    .raw()
    .all(range.startMs, range.endMs) as [string, number, number, number][];
  const hosts = hostRows.map(
    ([agentId, at, g, d]): Ipv6HostObs => ({
      agentId,
      communeCode: commune.get(agentId) ?? null,
      at,
      globalAddress: g === 1,
      defaultRoute: d === 1,
    }),
  );
  const bool = (v: number | null) => (v === null ? null : v === 1);
  const targetRows = db
    .prepare(
      `SELECT agent_id, started_at, target, checked, v6_ok, aaaa, v4_ms, v6_ms, he_family, pmtu_ok, v6_code
         FROM ipv6_target_obs WHERE started_at >= ? AND started_at < ?`,
    )
    .raw()
    .all(range.startMs, range.endMs) as [
    string,
    number,
    string,
    number,
    number,
    number | null,
    number | null,
    number | null,
    number | null,
    number | null,
    string | null,
  ][];
  const targets = targetRows.map(
    ([agentId, at, target, checked, v6Ok, aaaa, v4Ms, v6Ms, he, pmtu, v6Code]): Ipv6TargetObs => ({
      agentId,
      communeCode: commune.get(agentId) ?? null,
      at,
      target,
      checked: checked === 1,
      v6Ok: v6Ok === 1,
      aaaa: bool(aaaa),
      v4Ms,
      v6Ms,
      heFamily: he === 4 || he === 6 ? he : null,
      pmtuOk: bool(pmtu),
      v6Code,
    }),
  );
  return { hosts, targets };
}

/**
 * Speed results of [startMs, endMs) with their family and commune (errors and empty downloads left
 * out), of the communes in `only` when given. One range of the covering index results_speed_family
 * (migration 51): no table row is read; communes are joined here from the agents.
 */
export function speedFamilyObservations(
  db: Db,
  range: { startMs: number; endMs: number },
  only?: ReadonlySet<string>,
): SpeedFamilyObs[] {
  if (only && only.size === 0) return [];
  const commune = new Map(
    (db.prepare('SELECT id, commune_code FROM agents').raw().all() as [string, string | null][]).filter(
      ([, c]) => !only || (c !== null && only.has(c)),
    ),
  );
  const out: SpeedFamilyObs[] = [];
  for (const [agentId, family, downloadBps] of db
    .prepare(
      `SELECT agent_id, family, download_bps FROM results INDEXED BY results_speed_family
        WHERE kind = 'speed' AND status != 'error' AND download_bps IS NOT NULL
          AND started_at >= ? AND started_at < ?`,
    )
    .raw()
    .all(range.startMs, range.endMs) as [string, number, number][]) {
    const c = commune.get(agentId);
    if (c === undefined) continue;
    out.push({ communeCode: c, family: family === 6 ? 6 : 4, downloadBps });
  }
  return out;
}

/** A commune's row: IPv6 figures, names, and its speed tests over each family that week. */
export type Ipv6CommuneRow = Ipv6Report['communes'][number] & UnitNames & { speed: SpeedByFamily };
export type Ipv6TargetRow = Ipv6Report['targets'][number] & {
  /** The same share the week before, to watch the change week by week. */
  prevShareV6: number | null;
};

/** `GET /api/v1/stats/ipv6` answer. */
export interface Ipv6WeekReport extends Omit<Ipv6Report, 'communes' | 'targets'> {
  week: string;
  /** Monday 00:00 and the next Monday 00:00, Asia/Ho_Chi_Minh, RFC 3339. */
  from: string;
  to: string;
  previousWeek: string;
  prevShareIpv6Present: number | null;
  targets: Ipv6TargetRow[];
  communes: Ipv6CommuneRow[];
}

/** RFC 3339 in Asia/Ho_Chi_Minh: 2025-02-10T00:00:00+07:00. */
function localIso(ms: number): string {
  return `${new Date(ms + REPORT_TZ_OFFSET_MS).toISOString().slice(0, 19)}+07:00`;
}

/** Parse a `week` parameter (default: the week of `now`), with an error a person can act on. */
export function weekParam(week: string | undefined, now: number): string {
  if (week === undefined || week === '') return isoWeekOf(now).key;
  if (!isoWeekRange(week)) {
    throw new HatangError('HATANG_ERR_VALIDATION', `week must be an ISO week like 2025-W07; got "${week}"`, {
      hint: 'Weeks run Monday to Sunday in Asia/Ho_Chi_Minh; a year has 52 or 53 of them.',
    });
  }
  return week;
}

export interface Ipv6ReportOptions {
  /** Only observations from communes this accepts (a reader's scope); default: every observation. */
  communes?: (code: string) => boolean;
}

function only(
  obs: { hosts: Ipv6HostObs[]; targets: Ipv6TargetObs[] },
  keep: ((code: string) => boolean) | undefined,
): { hosts: Ipv6HostObs[]; targets: Ipv6TargetObs[] } {
  if (!keep) return obs;
  const ok = (c: string | null) => c !== null && keep(c);
  return { hosts: obs.hosts.filter((h) => ok(h.communeCode)), targets: obs.targets.filter((t) => ok(t.communeCode)) };
}

/** The IPv6 report of one ISO week, with commune/district names and last week's shares beside. */
export function ipv6WeekReport(db: Db, week: string, opts: Ipv6ReportOptions = {}): Ipv6WeekReport {
  const range = isoWeekRange(week);
  const prevKey = previousIsoWeek(week);
  if (!range || !prevKey) throw new HatangError('HATANG_ERR_VALIDATION', `week must be like 2025-W07; got "${week}"`);
  const cur = only(ipv6Observations(db, range), opts.communes);
  const report = ipv6Report(cur.hosts, cur.targets);
  const prevObs = only(ipv6Observations(db, isoWeekRange(prevKey)!), opts.communes);
  const prev = ipv6Report(prevObs.hosts, prevObs.targets);
  const prevShare = new Map(prev.targets.map((t) => [t.name, t.shareV6]));
  const names = unitNames(
    db,
    report.communes.map((c) => c.code),
  );
  // Speed by family only for the communes the report lists (none: no speed test is read).
  const speed = speedByFamily(speedFamilyObservations(db, range, new Set(report.communes.map((c) => c.code))));
  const noSpeed: SpeedByFamily = { v4Tests: 0, v6Tests: 0, v4DownloadMedianBps: null, v6DownloadMedianBps: null };
  return {
    week,
    from: localIso(range.startMs),
    to: localIso(range.endMs),
    previousWeek: prevKey,
    ...report,
    prevShareIpv6Present: prev.shareIpv6Present,
    targets: report.targets.map((t) => ({ ...t, prevShareV6: prevShare.get(t.name) ?? null })),
    communes: report.communes.map((c) => ({
      ...c,
      ...(names.get(c.code) ?? { name: null, districtCode: null, districtName: null }),
      speed: speed.get(c.code) ?? noSpeed,
    })),
  };
}
