import type { Scope } from '../../geography/tree.js';
import { type Ipv6WeekReport, ipv6WeekReport } from '../../ipv6/query.js';
import type { PageDeps } from './common.js';

/**
 * The dashboard's IPv6 figures come from the IPv6 report (collector/src/ipv6, docs/ipv6.md): per
 * week, per target the share of communes that reach it over IPv6, and per commune whether its line
 * has IPv6 and which targets answer over IPv6. Only communes the reader's scope covers count.
 */

export type V6Status = 'pass' | 'fail';

export interface Ipv6TargetView {
  name: string;
  status: V6Status;
  /** Share (0–1) of this commune's checks of the target that got an answer over IPv6. */
  share: number;
  code: string | null;
}

export interface CommuneIpv6 {
  /** The commune's line has IPv6 (global address and default route most of the week); null: no check. */
  host: boolean | null;
  targets: Ipv6TargetView[];
  v6Ms: number | null;
  v4Ms: number | null;
}

/** The week's IPv6 report over the communes `scope` covers, through the figure cache (one per scope). */
export function scopedIpv6Report(deps: PageDeps, scope: Scope, week: string): Ipv6WeekReport {
  const key = `ipv6:${week}:${scope === 'all' ? '*' : [...scope.units].sort().join(',')}`;
  return deps.cache.get(key, () => {
    const tree = deps.app.stats.tree();
    return ipv6WeekReport(deps.app.db, week, scope === 'all' ? {} : { communes: (c) => tree.canRead(scope, c) });
  }).value;
}

export function communeIpv6(report: Ipv6WeekReport, commune: string): CommuneIpv6 {
  const c = report.communes.find((x) => x.code === commune);
  if (!c) return { host: null, targets: [], v6Ms: null, v4Ms: null };
  return {
    host: c.ipv6Present,
    v6Ms: c.v6ConnectMedianMs,
    v4Ms: c.v4ConnectMedianMs,
    targets: c.targets.map((t) => ({
      name: t.name,
      status: t.v6Reachable ? 'pass' : 'fail',
      share: t.v6OkShare,
      code: t.v6Reachable ? null : t.topCode,
    })),
  };
}
