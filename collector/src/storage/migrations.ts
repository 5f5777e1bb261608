/**
 * Numbered schema migrations. Each runs once, in order, inside a transaction; the database's
 * `user_version` records the last one applied. Never edit a migration that has shipped: add one.
 *
 * Numbers are reserved per area so parallel work does not collide:
 * 1–9 core ingest, 10–19 geography/registry/statistics, 20–29 agents' config, 30–39 dashboard,
 * 40–49 metrics, 50–59 IPv6, 60–69 ndt7.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'core: agents and results',
    sql: `
      CREATE TABLE agents (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        commune_code  TEXT,
        access        TEXT NOT NULL CHECK (access IN ('fixed','mobile')),
        isp           TEXT,
        plan_mbps     REAL,
        token_id      TEXT NOT NULL UNIQUE,
        token_hash    TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        revoked_at    INTEGER,
        last_seen_at  INTEGER,
        agent_version TEXT
      );

      -- Every result as the agent sent it (body), plus the columns queries need.
      CREATE TABLE results (
        seq           INTEGER PRIMARY KEY,
        id            TEXT NOT NULL UNIQUE,
        agent_id      TEXT NOT NULL REFERENCES agents(id),
        kind          TEXT NOT NULL,
        status        TEXT NOT NULL,
        started_at    INTEGER NOT NULL, -- ms since epoch, re-based on the collector clock where possible
        wall_at       INTEGER NOT NULL, -- ms since epoch as the agent's wall clock said
        received_at   INTEGER NOT NULL, -- ms since epoch, collector clock
        time_trusted  INTEGER NOT NULL, -- 1 when started_at was re-based from boot id + uptime
        access        TEXT NOT NULL,
        family        INTEGER NOT NULL,
        isp           TEXT,
        server_id     TEXT,
        download_bps  REAL,
        upload_bps    REAL,
        latency_ms    REAL,
        jitter_ms     REAL,
        loss_pct      REAL,
        bytes_used    INTEGER NOT NULL,
        agent_limited INTEGER NOT NULL DEFAULT 0,
        body          TEXT NOT NULL
      );
      CREATE INDEX results_agent_time ON results (agent_id, started_at);
      CREATE INDEX results_kind_time ON results (kind, started_at);

      -- Where each boot of each agent sits on the collector's clock: received_at - uptime.
      CREATE TABLE agent_boots (
        agent_id   TEXT NOT NULL,
        boot_id    TEXT NOT NULL,
        offset_ms  INTEGER NOT NULL,
        seen_at    INTEGER NOT NULL,
        PRIMARY KEY (agent_id, boot_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 60,
    name: 'ndt7: server-side record of every subtest',
    sql: `
      -- One row per ndt7 subtest the collector served (docs/ndt7.md). metadata is the client's
      -- query string (at most 4096 bytes, server_ keys and access_token left out) as JSON.
      CREATE TABLE ndt7_tests (
        uuid          TEXT PRIMARY KEY,       -- ConnectionInfo.UUID sent to the client
        test          TEXT NOT NULL CHECK (test IN ('download','upload')),
        started_at    INTEGER NOT NULL,       -- ms since epoch, end of the WebSocket handshake
        duration_ms   INTEGER NOT NULL,
        client_addr   TEXT NOT NULL,          -- ip:port as the server saw it
        server_addr   TEXT NOT NULL,
        family        INTEGER NOT NULL,
        agent_id      TEXT,                   -- set when an agent token opened the test
        user_agent    TEXT,
        metadata      TEXT NOT NULL,          -- JSON object
        app_bytes     INTEGER NOT NULL,       -- application bytes sent (download) or received (upload)
        server_bps    REAL,                   -- the server's own rate: TCPInfo where known, else AppInfo
        min_rtt_ms    REAL,
        retrans_pct   REAL,
        tcp_info      TEXT,                   -- last TCPInfo as JSON, where the platform gave it
        end_reason    TEXT NOT NULL,          -- duration | early-exit | client-closed | hard-limit | protocol-error | shutdown
        close_code    INTEGER
      );
      CREATE INDEX ndt7_tests_time ON ndt7_tests (started_at);
    `,
  },
];
