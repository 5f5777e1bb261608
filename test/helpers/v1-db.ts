// A collector database as the first released schema (migration 1) wrote it, filled with data, and
// a snapshot of it, for upgrade tests: every row of every table that existed at version 1 must
// survive any later migration, column for column.
import { type Db, migrations, openDb } from '@hatang/collector';

export const V1 = migrations.filter((m) => m.version <= 1);

type Row = Record<string, unknown>;
export type Snapshot = Record<string, { columns: string[]; rows: Row[] }>;

/** Communes from Son La's GSO list (shared data set), so geography-aware migrations find them. */
const COMMUNES = ['03646', '03658', null] as const;

/** Create `path` with schema version 1 only and fill every v1 table. */
export function makeV1Db(path: string): Db {
  const db = openDb({ path, migrations: V1 });
  if (db.pragma('user_version', { simple: true }) !== 1) throw new Error('expected schema version 1');
  const t0 = Date.UTC(2025, 0, 1);
  const agents = [0, 1, 2].map((i) => ({
    id: `0190a000-0000-7000-8000-00000000000${i}`,
    name: ['UBND phường Chiềng Lề', 'Xã Chiềng Cọ (4G)', 'hộp thử <b>"test"</b>; DROP TABLE x'][i],
    commune_code: COMMUNES[i],
    access: i === 1 ? 'mobile' : 'fixed',
    isp: ['VNPT', 'Viettel', null][i],
    plan_mbps: [100, null, 300][i],
    token_id: `tok${i}`,
    token_hash: `hash-${i}`.padEnd(64, '0'),
    created_at: t0 + i,
    revoked_at: i === 2 ? t0 + 86_400_000 : null,
    last_seen_at: i === 2 ? null : t0 + 1000,
    agent_version: i === 2 ? null : '0.1.0',
  }));
  const insA = db.prepare(
    `INSERT INTO agents (id, name, commune_code, access, isp, plan_mbps, token_id, token_hash, created_at, revoked_at,
       last_seen_at, agent_version)
     VALUES (@id, @name, @commune_code, @access, @isp, @plan_mbps, @token_id, @token_hash, @created_at, @revoked_at,
       @last_seen_at, @agent_version)`,
  );
  const insR = db.prepare(
    `INSERT INTO results (id, agent_id, kind, status, started_at, wall_at, received_at, time_trusted, access, family,
       isp, server_id, download_bps, upload_bps, latency_ms, jitter_ms, loss_pct, bytes_used, agent_limited, body)
     VALUES (@id, @agent_id, @kind, @status, @started_at, @wall_at, @received_at, @time_trusted, @access, @family,
       @isp, @server_id, @download_bps, @upload_bps, @latency_ms, @jitter_ms, @loss_pct, @bytes_used, @agent_limited,
       @body)`,
  );
  const insB = db.prepare('INSERT INTO agent_boots (agent_id, boot_id, offset_ms, seen_at) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const a of agents) insA.run(a);
    // Two months of results, a speed test every 2 h per agent, and some latency and failed ones.
    for (let i = 0; i < 1500; i++) {
      const a = agents[i % 2]!;
      const kind = i % 5 === 0 ? 'latency' : 'speed';
      const status = i % 97 === 0 ? 'error' : 'ok';
      const started = t0 + i * 2 * 3600_000;
      const down = kind === 'speed' && status === 'ok' ? 20e6 + ((i * 7919) % 90) * 1e6 : null;
      insR.run({
        id: `0190b000-0000-7000-8000-${String(i).padStart(12, '0')}`,
        agent_id: a.id,
        kind,
        status,
        started_at: started,
        wall_at: started - (i % 3 === 0 ? 3_600_000 : 0),
        received_at: started + 5000,
        time_trusted: i % 3 === 0 ? 0 : 1,
        access: a.access,
        family: i % 4 === 0 ? 6 : 4,
        isp: a.isp,
        server_id: kind === 'speed' ? 'sla-vnpt' : null,
        download_bps: down,
        upload_bps: down === null ? null : down / 4,
        latency_ms: 10 + (i % 13),
        jitter_ms: (i % 5) / 2,
        loss_pct: kind === 'latency' ? (i % 3) * 0.5 : null,
        bytes_used: kind === 'speed' ? 50_000_000 + i : 4000,
        agent_limited: i % 50 === 0 ? 1 : 0,
        body: JSON.stringify({
          id: i,
          note: 'Kết quả đo tốc độ',
          status,
          ...(status === 'error' ? { error: 'x' } : {}),
        }),
      });
    }
    for (let b = 0; b < 5; b++) insB.run(agents[b % 2]!.id, `boot-${b}`, t0 + b * 1000, t0 + b * 2000);
  })();
  return db;
}

/** Every row of every table (or of `only`), in a stable order, restricted to the given columns. */
export function snapshot(db: Db, only?: Snapshot): Snapshot {
  const out: Snapshot = {};
  const tables = only
    ? Object.keys(only)
    : (
        db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
          )
          .all() as { name: string }[]
      ).map((r) => r.name);
  for (const t of tables) {
    const present = (db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).map((c) => c.name);
    const columns = only ? only[t]!.columns : present;
    const missing = columns.filter((c) => !present.includes(c));
    if (!present.length || missing.length) {
      out[t] = { columns, rows: [{ missing: present.length ? missing : ['(table)'] }] };
      continue;
    }
    const rows = db.prepare(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM "${t}"`).all() as Row[];
    rows.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
    out[t] = { columns, rows };
  }
  return out;
}

export function rowCount(s: Snapshot): number {
  return Object.values(s).reduce((n, t) => n + t.rows.length, 0);
}
