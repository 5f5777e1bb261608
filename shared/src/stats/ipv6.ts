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
  /** False for a placeholder, a bad URL, or a target whose every check was skipped: left out of figures. */
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
      // A placeholder or a bad URL (the `config` check) is a configuration matter, not a finding.
      checked: t.checks.some((c) => c.check !== 'config' && c.status !== 'skip'),
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

function sortedCodes(counts: Map<string, number>): Ipv6CodeCount[] {
  return [...counts]
    .map(([code, count]) => ({ code, count }))
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
}

function addCode(counts: Map<string, number>, o: Ipv6TargetObs) {
  if (!o.v6Ok && o.v6Code) counts.set(o.v6Code, (counts.get(o.v6Code) ?? 0) + 1);
}

/** Running counts of one commune's checks of one target: one pass over the observations. */
interface Cell {
  n: number;
  ok: number;
  aaaaN: number;
  aaaaOk: number;
  pmtuN: number;
  pmtuLost: number;
  heN: number;
  he6: number;
  v4: number[];
  v6: number[];
  codes: Map<string, number>;
  agents: Set<string>;
}

const newCell = (): Cell => ({
  n: 0,
  ok: 0,
  aaaaN: 0,
  aaaaOk: 0,
  pmtuN: 0,
  pmtuLost: 0,
  heN: 0,
  he6: 0,
  v4: [],
  v6: [],
  codes: new Map(),
  agents: new Set(),
});

function addObs(c: Cell, o: Ipv6TargetObs) {
  c.n++;
  if (o.v6Ok) c.ok++;
  if (o.aaaa !== null) {
    c.aaaaN++;
    if (o.aaaa) c.aaaaOk++;
  }
  if (o.pmtuOk !== null) {
    c.pmtuN++;
    if (!o.pmtuOk) c.pmtuLost++;
  }
  if (o.heFamily !== null) {
    c.heN++;
    if (o.heFamily === 6) c.he6++;
  }
  if (o.v4Ms !== null) c.v4.push(o.v4Ms);
  if (o.v6Ms !== null) c.v6.push(o.v6Ms);
  addCode(c.codes, o);
  c.agents.add(o.agentId);
}

const cellTarget = (name: string, c: Cell): Ipv6CommuneTarget => ({
  name,
  results: c.n,
  v6OkShare: c.ok / c.n,
  v6Reachable: reaches(c.ok / c.n),
  aaaa: c.aaaaN === 0 ? null : reaches(c.aaaaOk / c.aaaaN),
  topCode: sortedCodes(c.codes)[0]?.code ?? null,
});

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

const byName = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

/** The week's IPv6 report from its observations (already limited to the week). */
export function ipv6Report(hosts: readonly Ipv6HostObs[], targetObs: readonly Ipv6TargetObs[]): Ipv6Report {
  // One pass: a cell per commune and target, and per target the agents and results of everyone.
  const cells = new Map<string, Map<string, Cell>>();
  const perTarget = new Map<string, { agents: Set<string>; results: number }>();
  for (const o of targetObs) {
    if (!o.checked) continue;
    const t = getOr(perTarget, o.target, () => ({ agents: new Set<string>(), results: 0 }));
    t.agents.add(o.agentId);
    t.results++;
    if (o.communeCode === null) continue;
    const row = getOr(cells, o.communeCode, () => new Map<string, Cell>());
    addObs(getOr(row, o.target, newCell), o);
  }

  const hostsByCommune = group(
    hosts.filter((h) => h.communeCode !== null),
    (h) => h.communeCode as string,
  );
  const codes = [...new Set([...hostsByCommune.keys(), ...cells.keys()])].sort();
  const communes: Ipv6CommuneReport[] = codes.map((code) => {
    const hs = hostsByCommune.get(code) ?? [];
    const row = byName(cells.get(code) ?? new Map<string, Cell>());
    const agents = new Set(hs.map((h) => h.agentId));
    const v4: number[] = [];
    const v6: number[] = [];
    for (const [, c] of row) {
      for (const a of c.agents) agents.add(a);
      for (const x of c.v4) v4.push(x);
      for (const x of c.v6) v6.push(x);
    }
    let ready = 0;
    for (const h of hs) if (h.globalAddress && h.defaultRoute) ready++;
    const share = hs.length === 0 ? 0 : ready / hs.length;
    const targets = row.map(([name, c]) => cellTarget(name, c));
    return {
      code,
      agents: agents.size,
      results: hs.length,
      ipv6PresentShare: share,
      ipv6Present: hs.length > 0 && reaches(share),
      v4ConnectMedianMs: med(v4),
      v6ConnectMedianMs: med(v6),
      targetsChecked: targets.length,
      targetsV6: targets.filter((t) => t.v6Reachable).length,
      targets,
    };
  });

  const targets: Ipv6TargetReport[] = byName(perTarget).map(([name, all]) => {
    const cs: Cell[] = [];
    for (const row of cells.values()) {
      const c = row.get(name);
      if (c) cs.push(c);
    }
    const codes = new Map<string, number>();
    let heN = 0;
    let he6 = 0;
    let communesV6 = 0;
    let aaaaCells = 0;
    let communesAaaa = 0;
    let pmtuTrouble = 0;
    const v4: number[] = [];
    const v6: number[] = [];
    for (const c of cs) {
      if (reaches(c.ok / c.n)) communesV6++;
      if (c.aaaaN > 0) {
        aaaaCells++;
        if (reaches(c.aaaaOk / c.aaaaN)) communesAaaa++;
      }
      if (c.pmtuN > 0 && reaches(c.pmtuLost / c.pmtuN)) pmtuTrouble++;
      heN += c.heN;
      he6 += c.he6;
      const m4 = med(c.v4);
      const m6 = med(c.v6);
      if (m4 !== null) v4.push(m4);
      if (m6 !== null) v6.push(m6);
      for (const [k, n] of c.codes) codes.set(k, (codes.get(k) ?? 0) + n);
    }
    return {
      name,
      communesChecked: cs.length,
      communesV6,
      shareV6: ratio(communesV6, cs.length),
      communesAaaa,
      shareAaaa: ratio(communesAaaa, aaaaCells),
      communesPmtuTrouble: pmtuTrouble,
      v4ConnectMedianMs: med(v4),
      v6ConnectMedianMs: med(v6),
      happyEyeballsV6Share: ratio(he6, heN),
      agents: all.agents.size,
      results: all.results,
      failCodes: sortedCodes(codes),
    };
  });

  const present = communes.filter((c) => c.ipv6Present).length;
  const reporting = communes.filter((c) => c.results > 0).length;
  const unassigned = new Set<string>();
  let unassignedResults = 0;
  const agents = new Set<string>();
  for (const h of hosts) {
    agents.add(h.agentId);
    if (h.communeCode === null) {
      unassigned.add(h.agentId);
      unassignedResults++;
    }
  }
  return {
    communesReporting: reporting,
    communesIpv6Present: present,
    shareIpv6Present: ratio(present, reporting),
    agents: agents.size,
    results: hosts.length,
    unassigned: { agents: unassigned.size, results: unassignedResults },
    targets,
    communes,
  };
}

/** One speed result, for comparing download speed over IPv4 and IPv6 (DESIGN.md §3: every test records its family). */
export interface SpeedFamilyObs {
  communeCode: string | null;
  family: 4 | 6;
  downloadBps: number;
}

export interface SpeedByFamily {
  v4Tests: number;
  v6Tests: number;
  /** Median download over IPv4 / IPv6, bits per second; null without tests of that family. */
  v4DownloadMedianBps: number | null;
  v6DownloadMedianBps: number | null;
}

/** Per commune: how many speed tests ran over each family and their median download. */
export function speedByFamily(obs: readonly SpeedFamilyObs[]): Map<string, SpeedByFamily> {
  const out = new Map<string, SpeedByFamily>();
  for (const [code, xs] of group(
    obs.filter((o): o is SpeedFamilyObs & { communeCode: string } => o.communeCode !== null),
    (o) => o.communeCode,
  )) {
    const v4 = xs.filter((o) => o.family === 4).map((o) => o.downloadBps);
    const v6 = xs.filter((o) => o.family === 6).map((o) => o.downloadBps);
    out.set(code, {
      v4Tests: v4.length,
      v6Tests: v6.length,
      v4DownloadMedianBps: med(v4),
      v6DownloadMedianBps: med(v6),
    });
  }
  return out;
}
