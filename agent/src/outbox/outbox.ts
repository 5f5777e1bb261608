import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HatangError, type Result } from '@hatang/shared';
import Database from 'better-sqlite3';

/**
 * The durable outbox: every result is written here (synchronous=FULL: it survives SIGKILL and
 * power loss) before any attempt to send it, and deleted only when the collector acknowledged it
 * (accepted or duplicate). Results the collector rejects move to `dead_letters` with its reason.
 */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS outbox (
     seq        INTEGER PRIMARY KEY,
     id         TEXT NOT NULL UNIQUE,
     kind       TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     body       TEXT NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS dead_letters (
     id         TEXT PRIMARY KEY,
     kind       TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     failed_at  INTEGER NOT NULL,
     code       TEXT NOT NULL,
     message    TEXT NOT NULL,
     body       TEXT NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
];

export interface DeadLetter {
  id: string;
  kind: string;
  created_at: number;
  failed_at: number;
  code: string;
  message: string;
}

export class Outbox {
  readonly db: Database.Database;
  readonly #s;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(join(path, '..'), { recursive: true });
    try {
      this.db = new Database(path);
    } catch (cause) {
      throw new HatangError('HATANG_ERR_STORAGE', `cannot open outbox ${path}`, {
        cause,
        hint: 'Check that stateDir exists and is writable by the agent user.',
      });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    for (const sql of SCHEMA) this.db.exec(sql);
    this.#s = {
      insert: this.db.prepare('INSERT OR IGNORE INTO outbox (id, kind, created_at, body) VALUES (?, ?, ?, ?)'),
      batch: this.db.prepare('SELECT id, body FROM outbox ORDER BY seq LIMIT ?'),
      del: this.db.prepare('DELETE FROM outbox WHERE id = ?'),
      get: this.db.prepare('SELECT id, kind, created_at, body FROM outbox WHERE id = ?'),
      dead: this.db.prepare(
        'INSERT OR REPLACE INTO dead_letters (id, kind, created_at, failed_at, code, message, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      depth: this.db.prepare('SELECT count(*) AS n, min(created_at) AS oldest FROM outbox'),
      deadCount: this.db.prepare('SELECT count(*) AS n FROM dead_letters'),
      deadList: this.db.prepare(
        'SELECT id, kind, created_at, failed_at, code, message FROM dead_letters ORDER BY failed_at DESC LIMIT ?',
      ),
      kvGet: this.db.prepare('SELECT value FROM kv WHERE key = ?'),
      kvSet: this.db.prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
  }

  static inDir(stateDir: string): Outbox {
    return new Outbox(join(stateDir, 'outbox.db'));
  }

  enqueue(result: Result, now: number): void {
    this.#s.insert.run(result.id, result.kind, now, JSON.stringify(result));
  }

  /** The oldest `limit` results, in the order they were measured. */
  peek(limit: number): Result[] {
    return (this.#s.batch.all(limit) as Array<{ body: string }>).map((r) => JSON.parse(r.body) as Result);
  }

  /** Delete acknowledged results; move rejected ones to the dead letters. One transaction. */
  settle(
    acked: readonly string[],
    rejected: ReadonlyArray<{ id: string | null; code: string; message: string }>,
    now: number,
  ): void {
    this.db.transaction(() => {
      for (const id of acked) this.#s.del.run(id);
      for (const r of rejected) {
        if (r.id === null) continue;
        const row = this.#s.get.get(r.id) as { id: string; kind: string; created_at: number; body: string } | undefined;
        if (!row) continue;
        this.#s.dead.run(row.id, row.kind, row.created_at, now, r.code, r.message, row.body);
        this.#s.del.run(r.id);
      }
    })();
  }

  depth(): { count: number; oldest: number | null } {
    const r = this.#s.depth.get() as { n: number; oldest: number | null };
    return { count: r.n, oldest: r.oldest };
  }

  deadLetterCount(): number {
    return (this.#s.deadCount.get() as { n: number }).n;
  }

  deadLetters(limit = 20): DeadLetter[] {
    return this.#s.deadList.all(limit) as DeadLetter[];
  }

  get(key: string): string | undefined {
    return (this.#s.kvGet.get(key) as { value: string } | undefined)?.value;
  }

  set(key: string, value: string): void {
    this.#s.kvSet.run(key, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
