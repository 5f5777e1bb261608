import type { Db } from '../storage/db.js';
import type { Ndt7Record } from './server.js';

/** Prepared statements for ndt7_tests (migration 60); no maths here. */
export function createNdt7Store(db: Db) {
  const insert = db.prepare(`
    INSERT OR IGNORE INTO ndt7_tests
      (uuid, test, started_at, duration_ms, client_addr, server_addr, family, agent_id, user_agent, metadata,
       app_bytes, server_bps, min_rtt_ms, retrans_pct, tcp_info, end_reason, close_code)
    VALUES
      (@uuid, @test, @startedAt, @durationMs, @clientAddr, @serverAddr, @family, @agentId, @userAgent, @metadata,
       @appBytes, @serverBps, @minRttMs, @retransPct, @tcpInfo, @endReason, @closeCode)`);
  const byUuid = db.prepare('SELECT * FROM ndt7_tests WHERE uuid = ?');
  return {
    insert(r: Ndt7Record): void {
      insert.run({
        uuid: r.uuid,
        test: r.test,
        startedAt: r.startedAt,
        durationMs: r.durationMs,
        clientAddr: r.clientAddr,
        serverAddr: r.serverAddr,
        family: r.family,
        agentId: r.agentId ?? null,
        userAgent: r.userAgent ?? null,
        metadata: JSON.stringify(r.metadata),
        appBytes: r.appBytes,
        serverBps: r.serverBps ?? null,
        minRttMs: r.minRttMs ?? null,
        retransPct: r.retransPct ?? null,
        tcpInfo: r.tcpInfo ? JSON.stringify(r.tcpInfo) : null,
        endReason: r.endReason,
        closeCode: r.closeCode ?? null,
      });
    },
    byUuid(uuid: string): Ndt7Row | undefined {
      return byUuid.get(uuid) as Ndt7Row | undefined;
    },
  };
}

export interface Ndt7Row {
  uuid: string;
  test: 'download' | 'upload';
  started_at: number;
  duration_ms: number;
  client_addr: string;
  server_addr: string;
  family: number;
  agent_id: string | null;
  user_agent: string | null;
  metadata: string;
  app_bytes: number;
  server_bps: number | null;
  min_rtt_ms: number | null;
  retrans_pct: number | null;
  tcp_info: string | null;
  end_reason: string;
  close_code: number | null;
}
