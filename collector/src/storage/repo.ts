import type { AccessType } from '@hatang/shared';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from './db.js';
import { mintToken } from './tokens.js';

/** Prepared statements only; no maths here (STYLE.md). */

export interface AgentRow {
  id: string;
  name: string;
  commune_code: string | null;
  access: AccessType;
  isp: string | null;
  plan_mbps: number | null;
  token_id: string;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
  last_seen_at: number | null;
  agent_version: string | null;
}

export interface NewAgent {
  name: string;
  communeCode?: string | null;
  access: AccessType;
  isp?: string | null;
  planMbps?: number | null;
}

export interface StoredResult {
  id: string;
  agentId: string;
  kind: string;
  status: string;
  startedAt: number;
  wallAt: number;
  receivedAt: number;
  timeTrusted: boolean;
  access: string;
  family: number;
  isp: string | null;
  serverId: string | null;
  downloadBps: number | null;
  uploadBps: number | null;
  latencyMs: number | null;
  jitterMs: number | null;
  lossPct: number | null;
  bytesUsed: number;
  agentLimited: boolean;
  /** RESULT_FLAGS bit mask (migration 12); 0 when absent. */
  flags?: number;
  body: string;
}

/** The latest outbox status of an agent (migration 33; see ingest/agent-status.ts). */
export interface AgentStatusRow {
  reportedAt: number;
  queued: number;
  /** ms since epoch, collector clock; null when nothing waits or its time is impossible. */
  oldestQueuedAt: number | null;
  oldestTrusted: boolean | null;
  deadLetters: number;
  dropped: number;
}

export function createRepo(db: Db) {
  const s = {
    insertAgent: db.prepare(
      `INSERT INTO agents (id, name, commune_code, access, isp, plan_mbps, token_id, token_hash, created_at)
       VALUES (@id, @name, @communeCode, @access, @isp, @planMbps, @tokenId, @tokenHash, @createdAt)`,
    ),
    agentByTokenId: db.prepare('SELECT * FROM agents WHERE token_id = ?'),
    agentById: db.prepare('SELECT * FROM agents WHERE id = ?'),
    listAgents: db.prepare('SELECT * FROM agents ORDER BY created_at'),
    revokeAgent: db.prepare('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    touchAgent: db.prepare(
      'UPDATE agents SET last_seen_at = ?, agent_version = coalesce(?, agent_version) WHERE id = ?',
    ),
    resultOwner: db.prepare('SELECT agent_id FROM results WHERE id = ?'),
    insertResult: db.prepare(
      `INSERT INTO results (id, agent_id, kind, status, started_at, wall_at, received_at, time_trusted, access, family,
         isp, server_id, download_bps, upload_bps, latency_ms, jitter_ms, loss_pct, bytes_used, agent_limited, body, flags)
       VALUES (@id, @agentId, @kind, @status, @startedAt, @wallAt, @receivedAt, @timeTrusted, @access, @family,
         @isp, @serverId, @downloadBps, @uploadBps, @latencyMs, @jitterMs, @lossPct, @bytesUsed, @agentLimited, @body,
         @flags)
       ON CONFLICT (id) DO NOTHING`,
    ),
    bootOffset: db.prepare('SELECT offset_ms FROM agent_boots WHERE agent_id = ? AND boot_id = ?'),
    upsertBoot: db.prepare(
      `INSERT INTO agent_boots (agent_id, boot_id, offset_ms, seen_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id, boot_id) DO UPDATE SET offset_ms = min(offset_ms, excluded.offset_ms), seen_at = excluded.seen_at`,
    ),
    upsertStatus: db.prepare(
      `INSERT INTO agent_status (agent_id, reported_at, queued, oldest_queued_at, oldest_trusted, dead_letters, dropped)
       VALUES (@agentId, @reportedAt, @queued, @oldestQueuedAt, @oldestTrusted, @deadLetters, @dropped)
       ON CONFLICT (agent_id) DO UPDATE SET reported_at = excluded.reported_at, queued = excluded.queued,
         oldest_queued_at = excluded.oldest_queued_at, oldest_trusted = excluded.oldest_trusted,
         dead_letters = excluded.dead_letters, dropped = excluded.dropped`,
    ),
    clearStatus: db.prepare('DELETE FROM agent_status WHERE agent_id = ?'),
    getStatus: db.prepare('SELECT * FROM agent_status WHERE agent_id = ?'),
    countResults: db.prepare('SELECT count(*) AS n FROM results WHERE agent_id = coalesce(?, agent_id)'),
    recentResults: db.prepare('SELECT * FROM results WHERE agent_id = ? ORDER BY started_at DESC LIMIT ?'),
  };

  return {
    addAgent(a: NewAgent, now: number): { agent: AgentRow; token: string } {
      const id = uuidv7({ msecs: now });
      const t = mintToken();
      s.insertAgent.run({
        id,
        name: a.name,
        communeCode: a.communeCode ?? null,
        access: a.access,
        isp: a.isp ?? null,
        planMbps: a.planMbps ?? null,
        tokenId: t.tokenId,
        tokenHash: t.tokenHash,
        createdAt: now,
      });
      return { agent: s.agentById.get(id) as AgentRow, token: t.token };
    },
    agentByTokenId(tokenId: string): AgentRow | undefined {
      return s.agentByTokenId.get(tokenId) as AgentRow | undefined;
    },
    agentById(id: string): AgentRow | undefined {
      return s.agentById.get(id) as AgentRow | undefined;
    },
    listAgents(): AgentRow[] {
      return s.listAgents.all() as AgentRow[];
    },
    revokeAgent(id: string, now: number): boolean {
      return s.revokeAgent.run(now, id).changes === 1;
    },
    touchAgent(id: string, now: number, version: string | null): void {
      s.touchAgent.run(now, version, id);
    },
    resultOwner(id: string): string | undefined {
      return (s.resultOwner.get(id) as { agent_id: string } | undefined)?.agent_id;
    },
    /** Insert one result; false when its id was already stored. */
    insertResult(r: StoredResult): boolean {
      return (
        s.insertResult.run({
          ...r,
          timeTrusted: r.timeTrusted ? 1 : 0,
          agentLimited: r.agentLimited ? 1 : 0,
          flags: r.flags ?? 0,
        }).changes === 1
      );
    },
    bootOffset(agentId: string, bootId: string): number | undefined {
      return (s.bootOffset.get(agentId, bootId) as { offset_ms: number } | undefined)?.offset_ms;
    },
    recordBoot(agentId: string, bootId: string, offsetMs: number, now: number): void {
      s.upsertBoot.run(agentId, bootId, Math.round(offsetMs), now);
    },
    /** Store an agent's latest outbox status, or forget it (null: its batch carried none). One statement. */
    setAgentStatus(agentId: string, st: AgentStatusRow | null): void {
      if (st === null) {
        s.clearStatus.run(agentId);
        return;
      }
      s.upsertStatus.run({
        agentId,
        ...st,
        oldestTrusted: st.oldestTrusted === null ? null : st.oldestTrusted ? 1 : 0,
      });
    },
    agentStatus(agentId: string): AgentStatusRow | undefined {
      const r = s.getStatus.get(agentId) as
        | {
            reported_at: number;
            queued: number;
            oldest_queued_at: number | null;
            oldest_trusted: number | null;
            dead_letters: number;
            dropped: number;
          }
        | undefined;
      if (!r) return undefined;
      return {
        reportedAt: r.reported_at,
        queued: r.queued,
        oldestQueuedAt: r.oldest_queued_at,
        oldestTrusted: r.oldest_trusted === null ? null : r.oldest_trusted === 1,
        deadLetters: r.dead_letters,
        dropped: r.dropped,
      };
    },
    countResults(agentId?: string): number {
      return (s.countResults.get(agentId ?? null) as { n: number }).n;
    },
    recentResults(agentId: string, limit: number): Array<Record<string, unknown>> {
      return s.recentResults.all(agentId, limit) as Array<Record<string, unknown>>;
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(fn)();
    },
  };
}

export type Repo = ReturnType<typeof createRepo>;
