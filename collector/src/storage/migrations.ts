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
    version: 20,
    name: 'enrolment codes',
    sql: `
      -- One-time enrolment codes (docs/collector.md "Enrolment"). Only a SHA-256 of the code is
      -- kept; code_hint holds its first 4 characters so a technician can tell codes apart.
      CREATE TABLE enroll_codes (
        id            TEXT PRIMARY KEY,
        code_hash     TEXT NOT NULL UNIQUE,
        code_hint     TEXT NOT NULL,
        name          TEXT NOT NULL,
        commune_code  TEXT,
        access        TEXT NOT NULL CHECK (access IN ('fixed','mobile')),
        isp           TEXT,
        plan_mbps     REAL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        used_at       INTEGER,
        used_by_host  TEXT,
        agent_id      TEXT REFERENCES agents(id),
        revoked_at    INTEGER
      );
      CREATE INDEX enroll_codes_created ON enroll_codes (created_at);
    `,
  },
];
