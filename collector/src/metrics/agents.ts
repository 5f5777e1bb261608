import type { Db } from '../storage/db.js';

/** The bounded labels every per-agent series carries (DESIGN.md §6). Empty string = unknown. */
export interface AgentLabels {
  agent: string;
  commune: string;
  district: string;
  access: string;
  isp: string;
}

/** Latest figures of one agent, in base units; null where the agent has sent nothing of that kind. */
export interface AgentLatest {
  labels: AgentLabels;
  downloadBps: number | null;
  uploadBps: number | null;
  latencyS: number | null;
  jitterS: number | null;
  lossRatio: number | null;
  /** Last contact in s since epoch; the registration time when the agent has not reported yet. */
  lastSeenS: number;
  /** Start of the speed test the download/upload gauges show, s since epoch. */
  lastSpeedTestS: number | null;
  /** The outbox as the agent last reported it (migration 33); null from an agent that sends no status. */
  outbox: {
    queued: number;
    /** Start of the oldest waiting result, s since epoch (collector clock); null when none or unknown. */
    oldestS: number | null;
    deadLetters: number;
    dropped: number;
  } | null;
}

interface Row {
  id: string;
  commune_code: string | null;
  access: string;
  isp: string | null;
  created_at: number;
  last_seen_at: number | null;
  download_bps: number | null;
  upload_bps: number | null;
  speed_at: number | null;
  latency_ms: number | null;
  jitter_ms: number | null;
  loss_pct: number | null;
  st_queued: number | null;
  st_oldest: number | null;
  st_dead: number | null;
  st_dropped: number | null;
}

/** Maps a commune code to its district code ('' when the geography has none, as after the 2025 merge). */
export type DistrictOf = (communeCode: string) => string;

/** The per-agent statement (exported so a test can check its query plan). */
export const AGENTS_LATEST_SQL = `
    WITH picks AS (
      SELECT a.id, a.commune_code, a.access, a.isp, a.created_at, a.last_seen_at,
        (SELECT seq FROM results r WHERE r.agent_id = a.id AND r.kind = 'speed'
           AND (r.download_bps IS NOT NULL OR r.upload_bps IS NOT NULL) ORDER BY r.started_at DESC LIMIT 1) AS speed_seq,
        (SELECT seq FROM results r WHERE r.agent_id = a.id AND r.kind = 'latency'
           AND r.latency_ms IS NOT NULL ORDER BY r.started_at DESC LIMIT 1) AS latency_seq,
        (SELECT seq FROM results r WHERE r.agent_id = a.id AND r.kind = 'speed'
           AND r.latency_ms IS NOT NULL ORDER BY r.started_at DESC LIMIT 1) AS speed_latency_seq,
        (SELECT seq FROM results r WHERE r.agent_id = a.id AND r.kind = 'udp'
           AND r.loss_pct IS NOT NULL ORDER BY r.started_at DESC LIMIT 1) AS udp_seq
      FROM agents a WHERE a.revoked_at IS NULL
    )
    SELECT p.id, p.commune_code, p.access, p.isp, p.created_at, p.last_seen_at,
      s.download_bps, s.upload_bps, s.started_at AS speed_at,
      -- The newer of the latest latency test and the latest speed test's idle latency.
      CASE WHEN l2.seq IS NOT NULL AND (l.seq IS NULL OR l2.started_at > l.started_at) THEN l2.latency_ms ELSE l.latency_ms END
        AS latency_ms,
      CASE WHEN l2.seq IS NOT NULL AND (l.seq IS NULL OR l2.started_at > l.started_at) THEN l2.jitter_ms ELSE l.jitter_ms END
        AS jitter_ms,
      u.loss_pct,
      st.queued AS st_queued, st.oldest_queued_at AS st_oldest, st.dead_letters AS st_dead, st.dropped AS st_dropped
    FROM picks p
    LEFT JOIN results s ON s.seq = p.speed_seq
    LEFT JOIN results l ON l.seq = p.latency_seq
    LEFT JOIN results l2 ON l2.seq = p.speed_latency_seq
    LEFT JOIN results u ON u.seq = p.udp_seq
    LEFT JOIN agent_status st ON st.agent_id = p.id
    ORDER BY p.id`;

/**
 * Latest speed, latency and UDP figures and the latest outbox status of every unrevoked agent, in
 * one statement: each figure is one backwards step on the (agent_id, kind, started_at) index
 * (migration 50), the status one primary-key lookup, so the cost grows with agents, not with
 * stored results. (IPv6 status comes from the IPv6 area's ipv6Status().)
 */
export function createAgentQueries(db: Db) {
  const latest = db.prepare(AGENTS_LATEST_SQL);
  const one = db.prepare('SELECT id, commune_code, access, isp FROM agents WHERE id = ?');

  function labelsOf(
    r: { id: string; commune_code: string | null; access: string; isp: string | null },
    districtOf: DistrictOf,
  ): AgentLabels {
    const commune = r.commune_code ?? '';
    return { agent: r.id, commune, district: commune ? districtOf(commune) : '', access: r.access, isp: r.isp ?? '' };
  }

  return {
    latest(districtOf: DistrictOf): AgentLatest[] {
      return (latest.all() as Row[]).map((r) => ({
        labels: labelsOf(r, districtOf),
        downloadBps: r.download_bps,
        uploadBps: r.upload_bps,
        latencyS: r.latency_ms === null ? null : r.latency_ms / 1000,
        jitterS: r.jitter_ms === null ? null : r.jitter_ms / 1000,
        lossRatio: r.loss_pct === null ? null : r.loss_pct / 100,
        lastSeenS: (r.last_seen_at ?? r.created_at) / 1000,
        lastSpeedTestS: r.speed_at === null ? null : r.speed_at / 1000,
        outbox:
          r.st_queued === null
            ? null
            : {
                queued: r.st_queued,
                oldestS: r.st_oldest === null ? null : r.st_oldest / 1000,
                deadLetters: r.st_dead ?? 0,
                dropped: r.st_dropped ?? 0,
              },
      }));
    },
    /** Labels of one agent (for ingest-time observations of agents newer than the cached snapshot). */
    labels(agentId: string, districtOf: DistrictOf): AgentLabels | undefined {
      const r = one.get(agentId) as Row | undefined;
      return r ? labelsOf(r, districtOf) : undefined;
    },
  };
}

export type AgentQueries = ReturnType<typeof createAgentQueries>;
