import type { Db } from './db.js';
import { backfillRollupDownloads } from './rollups.js';

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
  /** Work SQL alone cannot do (filling a new table from blobs), run after `sql` in the same transaction. */
  run?: (db: Db) => void;
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
  {
    version: 50,
    name: 'ipv6: per-result observations for the weekly IPv6 report',
    sql: `
      -- Latest ipv6 result per agent (ipv6Status, metrics) without scanning other kinds.
      CREATE INDEX results_agent_kind_time ON results (agent_id, kind, started_at);

      -- What each ipv6 result says, reduced to the report's figures (shared/src/stats/ipv6.ts),
      -- filled from results by syncIpv6() (collector/src/ipv6/sync.ts). Kept like a rollup.
      -- Clustered on time (WITHOUT ROWID, started_at first): a week is one contiguous range read.
      CREATE TABLE ipv6_host_obs (
        started_at     INTEGER NOT NULL,    -- ms since epoch, as results.started_at
        result_seq     INTEGER NOT NULL,    -- results.seq
        agent_id       TEXT NOT NULL,
        global_address INTEGER NOT NULL,    -- 1: the agent had a global IPv6 address
        default_route  INTEGER NOT NULL,    -- 1: and an IPv6 default route
        PRIMARY KEY (started_at, result_seq)
      ) WITHOUT ROWID;

      CREATE TABLE ipv6_target_obs (
        started_at INTEGER NOT NULL,
        result_seq INTEGER NOT NULL,
        target     TEXT NOT NULL,    -- configured target name (bounded label)
        agent_id   TEXT NOT NULL,
        checked    INTEGER NOT NULL, -- 0 for a placeholder / all-skipped target
        v6_ok      INTEGER NOT NULL, -- 1: answered HTTP(S) over IPv6 only
        aaaa       INTEGER,          -- 1 pass, 0 fail, NULL did not apply
        v4_ms      REAL,             -- TCP connect over IPv4, ms, when it connected
        v6_ms      REAL,             -- TCP connect over IPv6, ms, when it connected
        he_family  INTEGER,          -- family a dual-stack connect chose (4 or 6)
        pmtu_ok    INTEGER,          -- 1 the 1 600-byte request got through, 0 lost, NULL not run
        v6_code    TEXT,             -- why IPv6 failed (first failing IPv6 check's code)
        PRIMARY KEY (started_at, result_seq, target)
      ) WITHOUT ROWID;

      -- How far syncIpv6() has read the results table.
      CREATE TABLE ipv6_sync (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq INTEGER NOT NULL
      );
      INSERT INTO ipv6_sync (id, last_seq) VALUES (1, 0);
    `,
  },
  {
    version: 51,
    name: 'ipv6: indexes for the observation sync and the speed tests by IP family',
    sql: `
      -- syncIpv6() reads the ipv6 results after its watermark in seq order: only ipv6 rows, by seq
      -- (results_kind_time cannot seek on seq, so every ipv6 result ever stored was read and sorted).
      CREATE INDEX results_ipv6_seq ON results (seq) WHERE kind = 'ipv6';

      -- The weekly IPv6 report sets each commune's speed tests side by side by family
      -- (speedFamilyObservations): a week of them is one range of this covering index instead of
      -- a table row per test (≈ 84 000 a week for 1 000 agents). kind and status are in it only so
      -- that it covers the query's own WHERE.
      CREATE INDEX results_speed_family ON results (started_at, agent_id, family, download_bps, kind, status)
        WHERE kind = 'speed' AND status != 'error' AND download_bps IS NOT NULL;
    `,
  },
  {
    version: 10,
    name: 'geography: units with history, groups',
    sql: `
      -- Administrative units with official (GSO) codes, and named groups of communes. A unit that
      -- no longer exists keeps its row with valid_to set (and merged_into when it was merged).
      CREATE TABLE units (
        code        TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        type        TEXT,              -- as published: Tỉnh, Huyện, Thành phố, Xã, Phường, Thị trấn, …
        level       TEXT NOT NULL CHECK (level IN ('province','district','commune','group')),
        parent_code TEXT,              -- province for a district; district or province for a commune
        valid_from  INTEGER,           -- ms since epoch this state holds from; NULL: always
        valid_to    INTEGER,           -- ms since epoch the unit ceased to exist; NULL: current
        merged_into TEXT,              -- the unit that took this one over
        updated_at  INTEGER NOT NULL
      );
      CREATE INDEX units_parent ON units (parent_code);

      -- Earlier states of units: each row held during [valid_from, valid_to).
      CREATE TABLE unit_history (
        seq         INTEGER PRIMARY KEY,
        code        TEXT NOT NULL,
        name        TEXT NOT NULL,
        type        TEXT,
        level       TEXT NOT NULL,
        parent_code TEXT,
        valid_from  INTEGER,
        valid_to    INTEGER NOT NULL,
        change      TEXT NOT NULL,     -- rename, reparent, retype, merge, retire
        source      TEXT               -- CSV file, 'api' or 'cli'
      );
      CREATE INDEX unit_history_code ON unit_history (code, valid_to);

      -- Members of named groups (level 'group'): any units, usually communes.
      CREATE TABLE unit_group_members (
        group_code TEXT NOT NULL,
        unit_code  TEXT NOT NULL,
        PRIMARY KEY (group_code, unit_code)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 11,
    name: 'registry: agent location, admin tokens',
    sql: `
      ALTER TABLE agents ADD COLUMN latitude REAL;
      ALTER TABLE agents ADD COLUMN longitude REAL;
      ALTER TABLE agents ADD COLUMN location TEXT;     -- free text: the office, the room
      ALTER TABLE agents ADD COLUMN updated_at INTEGER;
      CREATE INDEX agents_commune ON agents (commune_code);

      -- Admin bearer tokens: hta1_<id>_<secret>; only a SHA-256 of the secret is stored.
      CREATE TABLE admin_tokens (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        token_hash   TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        revoked_at   INTEGER,
        last_used_at INTEGER
      );
    `,
  },
  {
    version: 12,
    name: 'statistics: result flags, per-line weekly and monthly rollups',
    sql: `
      -- Bit flags (shared RESULT_FLAGS): 1 time untrusted, 2 agent-limited, 4 time implausible
      -- (left out of statistics), 8 agent clock skewed.
      ALTER TABLE results ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;

      -- A "line" is what an agent measures: agent × access type × ISP. Rollups refer to it by a
      -- small integer so a week of a province reads as few bytes as possible.
      CREATE TABLE rollup_lines (
        line     INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL,
        access   TEXT NOT NULL,
        isp      TEXT NOT NULL,
        UNIQUE (agent_id, access, isp)
      );

      -- One row per reporting period (ISO week or calendar month, Asia/Ho_Chi_Minh; first_day is
      -- its first local day number) and line, holding every counted speed test of the period as
      -- n × [startedAt ms, download bps, upload bps, latency ms] little-endian float64 (NaN: none).
      -- Exact medians of any week or month are computed from these; they are kept when raw
      -- results are pruned. Clustered by period: a province's week is one range scan.
      CREATE TABLE rollup_periods (
        kind      TEXT NOT NULL CHECK (kind IN ('week','month')),
        first_day INTEGER NOT NULL,
        line      INTEGER NOT NULL,
        n         INTEGER NOT NULL,
        samples   BLOB NOT NULL,
        PRIMARY KEY (kind, first_day, line)
      ) WITHOUT ROWID;
      CREATE INDEX rollup_periods_line ON rollup_periods (line, kind, first_day);
    `,
  },
  {
    version: 13,
    name: 'statistics: download figures of the rollups on their own',
    sql: `
      -- The download figure of each test of a rollup row (rollup_periods.samples, the second float64
      -- of every tuple), alone: n little-endian float64, NaN where the test has none. Sample counts
      -- and download medians (trends, the period before in a report) read these 8 bytes per test
      -- instead of 32: a week of the province is ≈ 0.7 MB, stored inside the b-tree pages, where the
      -- full rows need two overflow pages each. Written with rollup_periods, in the same upsert batch.
      CREATE TABLE rollup_downloads (
        kind      TEXT NOT NULL CHECK (kind IN ('week','month')),
        first_day INTEGER NOT NULL,
        line      INTEGER NOT NULL,
        down      BLOB NOT NULL,
        PRIMARY KEY (kind, first_day, line)
      ) WITHOUT ROWID;
      CREATE INDEX rollup_downloads_line ON rollup_downloads (line, kind, first_day);
    `,
    run: backfillRollupDownloads,
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
  {
    version: 30,
    name: 'dashboard: user accounts',
    sql: `
      -- People who read the dashboard. role viewer: read pages and stats for scope_unit and below
      -- (NULL: the whole province); role admin: everything. password is scrypt, parameters inline.
      CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        username    TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password    TEXT NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('viewer','admin')),
        scope_unit  TEXT,
        full_name   TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        last_login_at INTEGER
      );
    `,
  },
  {
    version: 31,
    name: 'dashboard: sessions',
    sql: `
      -- Server-side sessions. The cookie holds a random id; only its SHA-256 is stored, so a copy
      -- of the database does not let anyone in. csrf is the per-session form token.
      CREATE TABLE sessions (
        id_hash      TEXT PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf         TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE INDEX sessions_expiry ON sessions (expires_at);
    `,
  },
  {
    version: 32,
    name: 'dashboard: refused results per agent and day',
    sql: `
      -- How many results of each agent the collector refused (the agent's dead letters), per local
      -- day (Asia/Ho_Chi_Minh day number), counted from each ingest answer.
      CREATE TABLE agent_rejections (
        agent_id TEXT NOT NULL,
        day      INTEGER NOT NULL,
        count    INTEGER NOT NULL,
        PRIMARY KEY (agent_id, day)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 33,
    name: 'dashboard: latest outbox status per agent',
    sql: `
      -- The outbox status the agent sent with its latest batch (the envelope's agentStatus,
      -- docs/protocol.md §1.1), one row per agent, overwritten by each batch in the batch's own
      -- transaction; a batch without the block (an older agent) removes the row.
      CREATE TABLE agent_status (
        agent_id          TEXT PRIMARY KEY,
        reported_at       INTEGER NOT NULL, -- ms since epoch, collector clock: receipt of that batch
        queued            INTEGER NOT NULL, -- results waiting behind that batch
        oldest_queued_at  INTEGER,          -- start of the oldest of them, re-based like a result; NULL: none, or an impossible time
        oldest_trusted    INTEGER,          -- 1 when oldest_queued_at was re-based from boot id + uptime
        dead_letters      INTEGER NOT NULL,
        dropped           INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
