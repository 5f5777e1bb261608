import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { HatangError } from '@hatang/shared';
import Database from 'better-sqlite3';
import { migrations as allMigrations, type Migration } from './migrations.js';

export type Db = Database.Database;

export interface OpenDbOptions {
  /** SQLite file path, or ':memory:'. */
  path: string;
  readonly?: boolean;
  migrations?: Migration[];
  /** Told before and after each migration applied (a large database can take tens of seconds). */
  onMigration?: MigrationListener;
}

/** Progress of one migration: `start`, then `done` with the time it took. */
export type MigrationListener = (e: { version: number; name: string; phase: 'start' | 'done'; ms?: number }) => void;

/** Open the collector database: WAL, foreign keys, busy timeout, migrations applied. */
export function openDb(opts: OpenDbOptions): Db {
  if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
  let db: Db;
  try {
    db = new Database(opts.path, { readonly: opts.readonly ?? false });
  } catch (cause) {
    throw new HatangError('HATANG_ERR_STORAGE', `cannot open database ${opts.path}`, {
      cause,
      hint: 'Check that the directory exists and is writable by the collector user.',
    });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // A year of results for 1 000 agents is a few GB; indexes touched by ingest (result ids) and
  // the rollups a report reads stay in memory with a 64 MiB page cache, and checkpoints (which
  // fsync) run every 16 MiB of WAL instead of every 4 MiB.
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = 4096');
  if (!opts.readonly) migrate(db, opts.migrations ?? allMigrations, opts.onMigration);
  return db;
}

/** Apply every migration newer than the database's user_version. Returns the versions applied. */
/**
 * Apply every migration not yet applied, in version order, each in its own transaction.
 * Applied versions are recorded one by one in `schema_migrations`, not only as the highest
 * number: version numbers are reserved per area (see migrations.ts), so a later release may add
 * a migration numbered below one already applied, and it must still run. `user_version` mirrors
 * the highest applied version for tools that read it. A database holding a version this
 * collector does not know was written by a newer collector and is refused.
 */
export function migrate(db: Db, migrations: Migration[], onMigration?: MigrationListener): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const known = new Set(migrations.map((m) => m.version));
  let done = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
  );
  const userVersion = db.pragma('user_version', { simple: true }) as number;
  if (done.size === 0 && userVersion > 0) {
    // A database from before schema_migrations: everything up to user_version was applied in order.
    const legacy = migrations.filter((m) => m.version <= userVersion);
    const ins = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)');
    db.transaction(() => {
      for (const m of legacy) ins.run(m.version, m.name);
    })();
    done = new Set(legacy.map((m) => m.version));
    if (userVersion > Math.max(0, ...known)) done.add(userVersion);
  }
  const unknown = [...done].filter((v) => !known.has(v));
  const latest = Math.max(0, ...known);
  if (userVersion > latest && !unknown.includes(userVersion)) unknown.push(userVersion);
  if (unknown.length > 0) {
    throw new HatangError(
      'HATANG_ERR_STORAGE',
      `database schema is newer than this collector knows: migrations ${unknown.join(', ')} are not in this version`,
      { hint: 'It was written by a newer collector: run that version, or restore a backup.' },
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    onMigration?.({ version: m.version, name: m.name, phase: 'start' });
    const t0 = performance.now();
    db.transaction(() => {
      db.exec(m.sql);
      m.run?.(db);
      record.run(m.version, m.name, Date.now());
      const top = Math.max(m.version, db.pragma('user_version', { simple: true }) as number);
      db.pragma(`user_version = ${top}`);
    })();
    applied.push(m.version);
    onMigration?.({ version: m.version, name: m.name, phase: 'done', ms: performance.now() - t0 });
  }
  return applied;
}
