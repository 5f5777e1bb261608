/**
 * IPv6 readiness statistics: pure, no I/O, no clock (STYLE.md §11). The collector turns stored
 * ipv6 results into observations (one per result for the host, one per result and target), picks
 * a week, and hands them here.
 *
 * Definitions (docs/ipv6.md §Report):
 * - A commune "has IPv6" in a week when, in at least IPV6_REACH_MIN_SHARE of its results, the
 *   agent's computer had both a global IPv6 address and an IPv6 default route.
 * - A commune "reaches a target over IPv6" when at least IPV6_REACH_MIN_SHARE of its checks of
 *   that target got an HTTP answer over IPv6 only (http-v6 pass or slow).
 * - Connect times are medians of TCP connect times (pass or slow) over the week; a target's figure
 *   is the median of its communes' medians, so a commune with two agents does not count double.
 * - Agents with no commune are left out of commune figures and counted under `unassigned`.
 */
import type { Ipv6Body } from '../schemas/results.js';
import { IPV6_REACH_MIN_SHARE } from '../spec.js';
import { median } from './basic.js';

type Check = Ipv6Body['targets'][number]['checks'][number];

/** What one result says about one target, reduced to the figures the report needs. */
export interface Ipv6TargetFacts {
  name: string;
  /** False for a placeholder target or one whose every check was skipped: left out of figures. */
  checked: boolean;
  /** The target answered HTTP(S) over IPv6 only (http-v6 pass or slow). */
  v6Ok: boolean;
  /** AAAA lookup succeeded (true), failed (false), or did not apply (null: IP literal, not run). */
  aaaa: boolean | null;
  /** TCP connect time over IPv4 only, ms, when it succeeded. */
  v4Ms: number | null;
  /** TCP connect time over IPv6 only, ms, when it succeeded. */
  v6Ms: number | null;
  /** Family a dual-stack (Happy Eyeballs) connect chose, when it connected. */
  heFamily: 4 | 6 | null;
  /** The 1 600-byte request over IPv6 got through (true), was lost (false), or did not run (null). */
  pmtuOk: boolean | null;
  /** Why IPv6 failed: the code of the first failing IPv6 check (dns-aaaa, tcp-v6, http-v6). */
  v6Code: string | null;
}

const ok = (c: Check | undefined) => c?.status === 'pass' || c?.status === 'slow';

/** Reduce an ipv6 body to per-target facts. */
export function ipv6TargetFacts(body: Ipv6Body): Ipv6TargetFacts[] {
  return body.targets.map((t) => {
    const by = new Map(t.checks.map((c) => [c.check, c] as const));
    const aaaa = by.get('dns-aaaa');
    const v4 = by.get('tcp-v4');
    const v6 = by.get('tcp-v6');
    const http = by.get('http-v6');
    const he = by.get('happy-eyeballs');
    const pmtu = by.get('pmtu-v6');
    const v6Ok = ok(http);
    let v6Code: string | null = null;
    if (!v6Ok) {
      const firstFail = [aaaa, v6, http].find((c) => c?.status === 'fail');
      v6Code = firstFail?.code ?? http?.code ?? v6?.code ?? null;
    }
    return {
      name: t.name,
      checked: t.checks.some((c) => c.status !== 'skip'),
      v6Ok,
      aaaa: aaaa && aaaa.status !== 'skip' ? ok(aaaa) : null,
      v4Ms: ok(v4) && v4?.ms !== undefined ? v4.ms : null,
      v6Ms: ok(v6) && v6?.ms !== undefined ? v6.ms : null,
      heFamily: ok(he) && he?.family !== undefined ? he.family : null,
      pmtuOk: pmtu && pmtu.status !== 'skip' ? ok(pmtu) : null,
      v6Code,
    };
  });
}

/** One ipv6 result's host part, with who and when. */
export interface Ipv6HostObs {
  agentId: string;
  communeCode: string | null;
  at: number;
  globalAddress: boolean;
  defaultRoute: boolean;
}

/** One ipv6 result's facts about one target, with who and when. */
export interface Ipv6TargetObs extends Omit<Ipv6TargetFacts, 'name'> {
  agentId: string;
  communeCode: string | null;
  at: number;
  target: string;
}

export interface Ipv6CodeCount {
  code: string;
  count: number;
}

export interface Ipv6TargetReport {
  name: string;
  /** Communes that checked this target at least once. */
  communesChecked: number;
  /** …of which reached it over IPv6 (see the definitions above). */
  communesV6: number;
  /** communesV6 / communesChecked; null when no commune checked it. */
  shareV6: number | null;
  /** Communes where the AAAA lookup mostly succeeded, of those where it applied. */
  communesAaaa: number;
  shareAaaa: number | null;
  /** Communes where at least half the 1 600-byte requests over IPv6 were lost (path-MTU trouble). */
  communesPmtuTrouble: number;
  /** Median over communes of each commune's median TCP connect time, ms. */
  v4ConnectMedianMs: number | null;
  v6ConnectMedianMs: number | null;
  /** Share of successful dual-stack connects that chose IPv6. */
  happyEyeballsV6Share: number | null;
  /** Agents (communes or not) and results that checked it. */
  agents: number;
  results: number;
  /** Why IPv6 failed, most frequent first (communes' results only). */
  failCodes: Ipv6CodeCount[];
}

export interface Ipv6CommuneTarget {
  name: string;
  results: number;
  /** Share of this commune's checks of the target that got an answer over IPv6. */
  v6OkShare: number;
  v6Reachable: boolean;
  aaaa: boolean | null;
  /** Most frequent reason IPv6 failed, if it did. */
  topCode: string | null;
}

export interface Ipv6CommuneReport {
  code: string;
  agents: number;
  /** ipv6 results from this commune in the week. */
  results: number;
  /** Share of results with a global IPv6 address and an IPv6 default route. */
  ipv6PresentShare: number;
  ipv6Present: boolean;
  v4ConnectMedianMs: number | null;
  v6ConnectMedianMs: number | null;
  targetsChecked: number;
  targetsV6: number;
  targets: Ipv6CommuneTarget[];
}

export interface Ipv6Report {
  communesReporting: number;
  communesIpv6Present: number;
  shareIpv6Present: number | null;
  agents: number;
  results: number;
  /** Agents without a commune: their results are not in any commune figure. */
  unassigned: { agents: number; results: number };
  targets: Ipv6TargetReport[];
  communes: Ipv6CommuneReport[];
}

const ratio = (n: number, d: number) => (d === 0 ? null : n / d);
const med = (xs: number[]) => (xs.length === 0 ? null : median(xs));
const reaches = (share: number) => share >= IPV6_REACH_MIN_SHARE;

function group<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return m;
}

function topCodes(obs: readonly Ipv6TargetObs[]): Ipv6CodeCount[] {
  const counts = new Map<string, number>();
  for (const o of obs) if (!o.v6Ok && o.v6Code) counts.set(o.v6Code, (counts.get(o.v6Code) ?? 0) + 1);
  return [...counts]
    .map(([code, count]) => ({ code, count }))
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
}

interface CommuneTargetCell {
  target: Ipv6CommuneTarget;
  v4: number | null;
  v6: number | null;
  aaaaKnown: boolean;
  pmtuTrouble: boolean;
}

function communeTarget(name: string, obs: readonly Ipv6TargetObs[]): CommuneTargetCell {
  const v6OkShare = obs.filter((o) => o.v6Ok).length / obs.length;
  const aaaaObs = obs.filter((o) => o.aaaa !== null);
  const pmtuObs = obs.filter((o) => o.pmtuOk !== null);
  return {
    target: {
      name,
      results: obs.length,
      v6OkShare,
      v6Reachable: reaches(v6OkShare),
      aaaa: aaaaObs.length === 0 ? null : reaches(aaaaObs.filter((o) => o.aaaa).length / aaaaObs.length),
      topCode: topCodes(obs)[0]?.code ?? null,
    },
    v4: med(obs.flatMap((o) => (o.v4Ms === null ? [] : [o.v4Ms]))),
    v6: med(obs.flatMap((o) => (o.v6Ms === null ? [] : [o.v6Ms]))),
    aaaaKnown: aaaaObs.length > 0,
    pmtuTrouble: pmtuObs.length > 0 && reaches(pmtuObs.filter((o) => o.pmtuOk === false).length / pmtuObs.length),
  };
}

/** The week's IPv6 report from its observations (already limited to the week). */
export function ipv6Report(hosts: readonly Ipv6HostObs[], targetObs: readonly Ipv6TargetObs[]): Ipv6Report {
  const checked = targetObs.filter((o) => o.checked);
  const inCommune = <T extends { communeCode: string | null }>(xs: readonly T[]) =>
    xs.filter((x): x is T & { communeCode: string } => x.communeCode !== null);

  // Per commune and target first; both the commune rows and the target rows are built from these cells.
  const cells = new Map<string, Map<string, CommuneTargetCell>>();
  for (const [code, obs] of group(inCommune(checked), (o) => o.communeCode)) {
    const row = new Map<string, CommuneTargetCell>();
    for (const [name, tObs] of group(obs, (o) => o.target)) row.set(name, communeTarget(name, tObs));
    cells.set(code, row);
  }

  const hostsByCommune = group(inCommune(hosts), (h) => h.communeCode);
  const targetsByCommune = group(inCommune(checked), (o) => o.communeCode);
  const codes = [...new Set([...hostsByCommune.keys(), ...cells.keys()])].sort();
  const communes: Ipv6CommuneReport[] = codes.map((code) => {
    const hs = hostsByCommune.get(code) ?? [];
    const ts = targetsByCommune.get(code) ?? [];
    const row = [...(cells.get(code)?.values() ?? [])].sort((a, b) => (a.target.name < b.target.name ? -1 : 1));
    const share = hs.length === 0 ? 0 : hs.filter((h) => h.globalAddress && h.defaultRoute).length / hs.length;
    return {
      code,
      agents: new Set([...hs, ...ts].map((x) => x.agentId)).size,
      results: hs.length,
      ipv6PresentShare: share,
      ipv6Present: hs.length > 0 && reaches(share),
      v4ConnectMedianMs: med(ts.flatMap((o) => (o.v4Ms === null ? [] : [o.v4Ms]))),
      v6ConnectMedianMs: med(ts.flatMap((o) => (o.v6Ms === null ? [] : [o.v6Ms]))),
      targetsChecked: row.length,
      targetsV6: row.filter((c) => c.target.v6Reachable).length,
      targets: row.map((c) => c.target),
    };
  });

  const targets: Ipv6TargetReport[] = [...group(checked, (o) => o.target)]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, obs]) => {
      const cs = [...cells.values()].flatMap((row) => {
        const c = row.get(name);
        return c ? [c] : [];
      });
      const communeObs = inCommune(obs);
      const he = communeObs.filter((o) => o.heFamily !== null);
      const communesV6 = cs.filter((c) => c.target.v6Reachable).length;
      const aaaaCells = cs.filter((c) => c.aaaaKnown);
      const communesAaaa = aaaaCells.filter((c) => c.target.aaaa).length;
      return {
        name,
        communesChecked: cs.length,
        communesV6,
        shareV6: ratio(communesV6, cs.length),
        communesAaaa,
        shareAaaa: ratio(communesAaaa, aaaaCells.length),
        communesPmtuTrouble: cs.filter((c) => c.pmtuTrouble).length,
        v4ConnectMedianMs: med(cs.flatMap((c) => (c.v4 === null ? [] : [c.v4]))),
        v6ConnectMedianMs: med(cs.flatMap((c) => (c.v6 === null ? [] : [c.v6]))),
        happyEyeballsV6Share: ratio(he.filter((o) => o.heFamily === 6).length, he.length),
        agents: new Set(obs.map((o) => o.agentId)).size,
        results: obs.length,
        failCodes: topCodes(communeObs),
      };
    });

  const present = communes.filter((c) => c.ipv6Present).length;
  const reporting = communes.filter((c) => c.results > 0).length;
  const unassignedHosts = hosts.filter((h) => h.communeCode === null);
  return {
    communesReporting: reporting,
    communesIpv6Present: present,
    shareIpv6Present: ratio(present, reporting),
    agents: new Set(hosts.map((h) => h.agentId)).size,
    results: hosts.length,
    unassigned: { agents: new Set(unassignedHosts.map((h) => h.agentId)).size, results: unassignedHosts.length },
    targets,
    communes,
  };
}
