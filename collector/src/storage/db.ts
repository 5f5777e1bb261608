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
}

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
  if (!opts.readonly) migrate(db, opts.migrations ?? allMigrations);
  return db;
}

/** Apply every migration newer than the database's user_version. Returns the versions applied. */
export function migrate(db: Db, migrations: Migration[]): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const latest = sorted.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new HatangError(
      'HATANG_ERR_STORAGE',
      `database schema version ${current} is newer than this collector knows (${latest})`,
      { hint: 'Run the collector version that wrote this database, or restore a backup.' },
    );
  }
  const applied: number[] = [];
  for (const m of sorted) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
