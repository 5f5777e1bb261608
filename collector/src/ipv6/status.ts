import { type Ipv6Body, ipv6TargetFacts } from '@hatang/shared';
import type { Db } from '../storage/db.js';

export type CheckStatus = 'pass' | 'slow' | 'fail' | 'skip';

/** One target in an agent's latest IPv6 result. */
export interface Ipv6TargetStatus {
  /** The target's configured name: a bounded label (never a URL). */
  name: string;
  /** Answered HTTP(S) over IPv6 only. */
  v6Reachable: boolean;
  /** AAAA lookup succeeded; null when it did not apply (IP address in the URL). */
  aaaa: boolean | null;
  /** TCP connect time over IPv4 / IPv6 only, ms; null when it did not connect. */
  v4ConnectMs: number | null;
  v6ConnectMs: number | null;
  /** Family a dual-stack connect chose; null when it did not connect. */
  happyEyeballsFamily: 4 | 6 | null;
  /** The 1 600-byte request over IPv6 got through; null when it did not run. */
  pmtuOk: boolean | null;
  /** Why IPv6 failed (a stable code from docs/ipv6.md), or null. */
  code: string | null;
  /** Status of each check by check name (dns-a, dns-aaaa, tcp-v4, tcp-v6, http-v6, happy-eyeballs, pmtu-v6). */
  checks: Record<string, CheckStatus>;
}

/** An agent's latest IPv6 result. */
export interface Ipv6AgentStatus {
  agentId: string;
  agentName: string;
  communeCode: string | null;
  /** When that result was measured, ms since epoch (collector clock where re-based). */
  at: number;
  globalAddress: boolean;
  defaultRoute: boolean;
  /** globalAddress && defaultRoute. */
  ipv6Present: boolean;
  /** Checked targets only: placeholders the operator has not filled in are left out. */
  targets: Ipv6TargetStatus[];
}

/**
 * The latest IPv6 status of every active (not revoked) agent that has sent an ipv6 result, for
 * /metrics and the dashboard. Read-only; one indexed lookup per agent. Labels stay bounded: a
 * target is named as configured (at most IPV6_MAX_TARGETS + 1 per agent), never by URL.
 */
export function ipv6Status(db: Db): Ipv6AgentStatus[] {
  const rows = db
    .prepare(
      `SELECT a.id, a.name, a.commune_code, r.started_at, r.body
         FROM agents a
         JOIN results r ON r.seq = (
           SELECT seq FROM results WHERE agent_id = a.id AND kind = 'ipv6'
            ORDER BY started_at DESC, seq DESC LIMIT 1)
        WHERE a.revoked_at IS NULL
        ORDER BY a.id`,
    )
    .all() as { id: string; name: string; commune_code: string | null; started_at: number; body: string }[];
  const out: Ipv6AgentStatus[] = [];
  for (const r of rows) {
    const body = (JSON.parse(r.body) as { ipv6?: Ipv6Body }).ipv6;
    if (!body) continue;
    const facts = ipv6TargetFacts(body);
    out.push({
      agentId: r.id,
      agentName: r.name,
      communeCode: r.commune_code,
      at: r.started_at,
      globalAddress: body.host.globalAddress,
      defaultRoute: body.host.defaultRoute,
      ipv6Present: body.host.globalAddress && body.host.defaultRoute,
      targets: facts.flatMap((f, i) => {
        if (!f.checked) return [];
        const checks = Object.fromEntries((body.targets[i]?.checks ?? []).map((c) => [c.check, c.status]));
        return [
          {
            name: f.name,
            v6Reachable: f.v6Ok,
            aaaa: f.aaaa,
            v4ConnectMs: f.v4Ms,
            v6ConnectMs: f.v6Ms,
            happyEyeballsFamily: f.heFamily,
            pmtuOk: f.pmtuOk,
            code: f.v6Code,
            checks,
          },
        ];
      }),
    });
  }
  return out;
}
