import type { Ipv6Body } from '@hatang/shared';
import type { PageDeps } from './common.js';

/**
 * IPv6 figures for the dashboard, read from each agent's latest IPv6 check: per commune, whether
 * the line has IPv6, and per target whether it answers over IPv6 (pass / slow / fail with the
 * failing check's code), with IPv6 and IPv4 connect times.
 */

export type V6Status = 'pass' | 'slow' | 'fail' | 'skip';

export interface Ipv6TargetView {
  name: string;
  status: V6Status;
  code: string | null;
  v6Ms: number | null;
  v4Ms: number | null;
}

export interface CommuneIpv6 {
  /** The commune's line has a global IPv6 address and route (any agent); null: no check yet. */
  host: boolean | null;
  targets: Ipv6TargetView[];
  checkedAt: number | null;
}

const RANK: Record<V6Status, number> = { pass: 3, slow: 2, fail: 1, skip: 0 };

type Check = Ipv6Body['targets'][number]['checks'][number];

export function summarizeTarget(name: string, checks: readonly Check[]): Ipv6TargetView {
  const by = (n: string) => checks.find((c) => c.check === n);
  const http = by('http-v6');
  const tcp = by('tcp-v6');
  const decisive = http && http.status !== 'skip' ? http : tcp;
  const failed = checks.find((c) => c.status === 'fail' && c.code);
  const status: V6Status = decisive ? decisive.status : 'skip';
  return {
    name,
    status,
    code: status === 'pass' ? null : (failed?.code ?? decisive?.code ?? null),
    v6Ms: tcp?.status === 'pass' || tcp?.status === 'slow' ? (tcp.ms ?? null) : null,
    v4Ms: by('tcp-v4')?.ms ?? null,
  };
}

/** Merge several agents' views of one commune: the best status per target wins. */
function mergeViews(views: CommuneIpv6[]): CommuneIpv6 {
  const targets = new Map<string, Ipv6TargetView>();
  let host: boolean | null = null;
  let checkedAt: number | null = null;
  for (const v of views) {
    if (v.host !== null) host = (host ?? false) || v.host;
    if (v.checkedAt !== null) checkedAt = Math.max(checkedAt ?? 0, v.checkedAt);
    for (const tv of v.targets) {
      const have = targets.get(tv.name);
      if (!have || RANK[tv.status] > RANK[have.status]) targets.set(tv.name, tv);
    }
  }
  return { host, checkedAt, targets: [...targets.values()].sort((a, b) => a.name.localeCompare(b.name)) };
}

function latestStmt(deps: PageDeps) {
  return deps.app.db.prepare(
    `SELECT body, started_at FROM results WHERE agent_id = ? AND kind = 'ipv6' AND status != 'error'
       AND started_at < ? ORDER BY started_at DESC LIMIT 1`,
  );
}

function viewOf(row: { body: string; started_at: number } | undefined): CommuneIpv6 {
  if (!row) return { host: null, targets: [], checkedAt: null };
  const body = (JSON.parse(row.body) as { ipv6?: Ipv6Body }).ipv6;
  if (!body) return { host: null, targets: [], checkedAt: null };
  return {
    host: body.host.globalAddress && body.host.defaultRoute,
    checkedAt: row.started_at,
    targets: body.targets.map((t) => summarizeTarget(t.name, t.checks)),
  };
}

/** The commune's IPv6 readiness from its agents' latest checks before `before` (default now). */
export function communeIpv6(
  deps: PageDeps,
  _commune: string,
  agentIds: readonly string[],
  before?: number,
): CommuneIpv6 {
  const stmt = latestStmt(deps);
  const at = before ?? Number.MAX_SAFE_INTEGER;
  return mergeViews(agentIds.map((id) => viewOf(stmt.get(id, at) as { body: string; started_at: number } | undefined)));
}

export interface Ipv6Matrix {
  targets: string[];
  communes: Array<{
    code: string;
    name: string;
    districtCode: string | null;
    districtName: string | null;
    v6: CommuneIpv6;
  }>;
}

/** Targets × communes for the communes a scope may read, from checks before `before`. */
export function ipv6Matrix(
  deps: PageDeps,
  communes: ReadonlyArray<{ code: string; name: string }>,
  before: number,
): Ipv6Matrix {
  const tree = deps.app.stats.tree();
  const byCommune = new Map<string, string[]>();
  for (const a of deps.app.repo.listAgents()) {
    if (!a.commune_code || a.revoked_at !== null) continue;
    const l = byCommune.get(a.commune_code);
    if (l) l.push(a.id);
    else byCommune.set(a.commune_code, [a.id]);
  }
  const targets = new Set<string>();
  const rows: Ipv6Matrix['communes'] = [];
  for (const c of communes) {
    const ids = byCommune.get(c.code);
    if (!ids) continue;
    const v6 = communeIpv6(deps, c.code, ids, before);
    for (const t of v6.targets) targets.add(t.name);
    const districtCode = tree.ancestors(c.code).find((x) => tree.get(x)?.level === 'district') ?? null;
    rows.push({
      code: c.code,
      name: c.name,
      districtCode,
      districtName: districtCode ? (tree.get(districtCode)?.name ?? null) : null,
      v6,
    });
  }
  return { targets: [...targets].sort(), communes: rows };
}
