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

/** The observations of [startMs, endMs), each with its agent's commune. */
export function ipv6Observations(
  db: Db,
  range: { startMs: number; endMs: number },
): { hosts: Ipv6HostObs[]; targets: Ipv6TargetObs[] } {
  syncIpv6(db);
  const hosts = (
    db
      .prepare(
        `SELECT h.agent_id, a.commune_code, h.started_at, h.global_address, h.default_route
           FROM ipv6_host_obs h JOIN agents a ON a.id = h.agent_id
          WHERE h.started_at >= ? AND h.started_at < ?`,
      )
      .all(range.startMs, range.endMs) as {
      agent_id: string;
      commune_code: string | null;
      started_at: number;
      global_address: number;
      default_route: number;
    }[]
  ).map((r) => ({
    agentId: r.agent_id,
    communeCode: r.commune_code,
    at: r.started_at,
    globalAddress: r.global_address === 1,
    defaultRoute: r.default_route === 1,
  }));
  const bool = (v: number | null) => (v === null ? null : v === 1);
  const targets = (
    db
      .prepare(
        `SELECT t.*, a.commune_code
           FROM ipv6_target_obs t JOIN agents a ON a.id = t.agent_id
          WHERE t.started_at >= ? AND t.started_at < ?`,
      )
      .all(range.startMs, range.endMs) as {
      agent_id: string;
      commune_code: string | null;
      started_at: number;
      target: string;
      checked: number;
      v6_ok: number;
      aaaa: number | null;
      v4_ms: number | null;
      v6_ms: number | null;
      he_family: number | null;
      pmtu_ok: number | null;
      v6_code: string | null;
    }[]
  ).map(
    (r): Ipv6TargetObs => ({
      agentId: r.agent_id,
      communeCode: r.commune_code,
      at: r.started_at,
      target: r.target,
      checked: r.checked === 1,
      v6Ok: r.v6_ok === 1,
      aaaa: bool(r.aaaa),
      v4Ms: r.v4_ms,
      v6Ms: r.v6_ms,
      heFamily: r.he_family === 4 || r.he_family === 6 ? r.he_family : null,
      pmtuOk: bool(r.pmtu_ok),
      v6Code: r.v6_code,
    }),
  );
  return { hosts, targets };
}

export type Ipv6CommuneRow = Ipv6Report['communes'][number] & UnitNames;
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
    })),
  };
}
