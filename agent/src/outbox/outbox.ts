import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AgentStatus,
  HatangError,
  MAX_AGENT_STATUS_COUNT,
  MAX_INGEST_BODY_BYTES,
  OUTBOX_MEMORY_HOLD_MAX,
  type Result,
} from '@hatang/shared';
import Database from 'better-sqlite3';

/**
 * The durable outbox (docs/agent.md "Outbox"): every result is written here before any attempt to
 * send it and deleted only when the collector acknowledged it (accepted or duplicate). Results the
 * collector rejects move to `dead_letters` with its reason.
 *
 * Durability: WAL with synchronous=FULL, so a committed result survives SIGKILL and power loss.
 *
 * Bounded disk use (the policy):
 * - pending results: at most `maxBytes` of result JSON; past it the OLDEST pending results are
 *   dropped, counted (`dropped` in status) and logged — the newest data is kept;
 * - dead letters: at most `maxDeadLetters`; past it the oldest are deleted;
 * - run records (for `status`): the newest `keepRuns`;
 * - the WAL is truncated to 4 MiB after checkpoints and freed pages are returned to the file system
 *   (incremental auto-vacuum), so the file shrinks after a long offline period drains;
 * - a full disk (SQLite cannot write): enqueue() does not throw; the result is held in memory (at
 *   most OUTBOX_MEMORY_HOLD_MAX, past it the oldest held is dropped and counted), written to the
 *   file at the next enqueue/peek that finds room, and pushed from memory meanwhile (peek() lists
 *   held results after the stored ones; settle() forgets them once acknowledged). Held results are
 *   lost only if the process dies before space returns — the same as a result still being measured.
 */

/** True for SQLite errors that mean "no room to write" (a full or failing disk), not a bug. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR'));
}

/** Room left in a batch for the envelope around the results, bytes. */
const ENVELOPE_ROOM = 4096;
/** SQLite page cache, KiB. */
const PAGE_CACHE_KIB = 512;
/** WAL size kept after a checkpoint, bytes. */
const WAL_LIMIT_BYTES = 4 * 1024 * 1024;

const MIGRATIONS: string[][] = [
  // 1: the first cut
  [
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
  ],
  // 2: sizes for the disk bound, run records, data usage
  [
    'ALTER TABLE outbox ADD COLUMN size INTEGER NOT NULL DEFAULT 0',
    'UPDATE outbox SET size = length(CAST(body AS BLOB))',
    'CREATE INDEX IF NOT EXISTS dead_letters_failed ON dead_letters (failed_at)',
    `CREATE TABLE IF NOT EXISTS runs (
       seq         INTEGER PRIMARY KEY,
       kind        TEXT NOT NULL,
       reason      TEXT NOT NULL,
       planned_at  INTEGER NOT NULL,
       started_at  INTEGER,
       ended_at    INTEGER,
       outcome     TEXT NOT NULL,
       detail      TEXT,
       result_id   TEXT,
       status      TEXT,
       summary     TEXT,
       bytes       INTEGER
     )`,
    'CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, seq)',
    `CREATE TABLE IF NOT EXISTS usage (
       period     TEXT NOT NULL,
       kind       TEXT NOT NULL,
       bytes      INTEGER NOT NULL,
       tests      INTEGER NOT NULL,
       PRIMARY KEY (period, kind)
     ) WITHOUT ROWID`,
  ],
];

export interface DeadLetter {
  id: string;
  kind: string;
  created_at: number;
  failed_at: number;
  code: string;
  message: string;
}

export interface OutboxLimits {
  /** Most bytes of pending result JSON kept. */
  maxBytes: number;
  maxDeadLetters: number;
  keepRuns: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = {
  maxBytes: 64 * 1_000_000,
  maxDeadLetters: 1000,
  keepRuns: 1000,
};

export interface OutboxStats {
  /** Results waiting to be delivered. */
  count: number;
  /** Their JSON size, bytes. */
  bytes: number;
  /** When the oldest waiting result was queued, ms (agent wall clock). */
  oldest: number | null;
  /** Results dropped because the disk bound was reached (or the memory hold overflowed), ever. */
  dropped: number;
  /** Results held in memory because the disk was full (only the running daemon sees these). */
  held?: number;
  deadLetters: number;
  /** Size of the database files, bytes. */
  fileBytes: number;
}

export interface RunRow {
  kind: string;
  reason: string;
  planned_at: number;
  started_at: number | null;
  ended_at: number | null;
  outcome: string;
  detail: string | null;
  result_id: string | null;
  status: string | null;
  summary: string | null;
  bytes: number | null;
}

export interface OutboxEvents {
  /** Called when the disk bound dropped pending results. */
  onDrop?: (count: number, bytes: number) => void;
  /** Called when a result could not be written (disk full) and is held in memory. */
  onHold?: (held: number, err: unknown) => void;
}

export class Outbox {
  readonly db: Database.Database;
  readonly path: string;
  limits: OutboxLimits;
  readonly #events: OutboxEvents;
  readonly #s;
  /** Results that could not be written (disk full), oldest first, with when they were queued. */
  readonly #held: Array<{ result: Result; now: number }> = [];
  /** Held results dropped past OUTBOX_MEMORY_HOLD_MAX and not yet added to `outbox.dropped`. */
  #heldDropped = 0;

  constructor(path: string, limits: Partial<OutboxLimits> = {}, events: OutboxEvents = {}) {
    this.path = path;
    this.limits = { ...DEFAULT_OUTBOX_LIMITS, ...limits };
    this.#events = events;
    try {
      if (path !== ':memory:') mkdirSync(join(path, '..'), { recursive: true });
      this.db = new Database(path);
      // Must come before the first table exists; a no-op on older files.
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
      // A small page cache: the queue is read in order, a batch at a time (default is 2 MB).
      this.db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
      this.#migrate();
    } catch (cause) {
      throw new HatangError('HATANG_ERR_STORAGE', `cannot open outbox ${path}: ${(cause as Error).message}`, {
        cause,
        hint: 'Check that stateDir exists, is writable by the agent user and the disk is not full.',
      });
    }
    this.#s = {
      insert: this.db.prepare('INSERT OR IGNORE INTO outbox (id, kind, created_at, body, size) VALUES (?, ?, ?, ?, ?)'),
      batch: this.db.prepare('SELECT id, body, size FROM outbox ORDER BY seq LIMIT ?'),
      del: this.db.prepare('DELETE FROM outbox WHERE id = ?'),
      get: this.db.prepare('SELECT id, kind, created_at, body FROM outbox WHERE id = ?'),
      dead: this.db.prepare(
        'INSERT OR REPLACE INTO dead_letters (id, kind, created_at, failed_at, code, message, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      depth: this.db.prepare(
        'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes, min(created_at) AS oldest FROM outbox',
      ),
      oldestRows: this.db.prepare('SELECT seq, size FROM outbox ORDER BY seq LIMIT ?'),
      delUpTo: this.db.prepare('DELETE FROM outbox WHERE seq <= ?'),
      count: this.db.prepare('SELECT count(*) AS n FROM outbox'),
      // The k-th queued result's times, read from its JSON without parsing the whole body.
      nthStamp: this.db.prepare(
        `SELECT json_extract(body, '$.startedAt') AS startedAt, json_extract(body, '$.clock.bootId') AS bootId,
                json_extract(body, '$.clock.uptimeMs') AS uptimeMs
           FROM outbox ORDER BY seq LIMIT 1 OFFSET ?`,
      ),
      deadCount: this.db.prepare('SELECT count(*) AS n FROM dead_letters'),
      deadList: this.db.prepare(
        'SELECT id, kind, created_at, failed_at, code, message FROM dead_letters ORDER BY failed_at DESC, id LIMIT ?',
      ),
      deadBody: this.db.prepare('SELECT body FROM dead_letters WHERE id = ?'),
      deadTrim: this.db.prepare(
        'DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY failed_at DESC, id LIMIT -1 OFFSET ?)',
      ),
      kvGet: this.db.prepare('SELECT value FROM kv WHERE key = ?'),
      kvSet: this.db.prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      kvDel: this.db.prepare('DELETE FROM kv WHERE key = ?'),
      runInsert: this.db.prepare(
        `INSERT INTO runs (kind, reason, planned_at, started_at, ended_at, outcome, detail, result_id, status, summary, bytes)
         VALUES (@kind, @reason, @planned_at, @started_at, @ended_at, @outcome, @detail, @result_id, @status, @summary, @bytes)`,
      ),
      runTrim: this.db.prepare('DELETE FROM runs WHERE seq <= (SELECT max(seq) FROM runs) - ?'),
      runsRecent: this.db.prepare('SELECT * FROM runs ORDER BY seq DESC LIMIT ?'),
      runsLatest: this.db.prepare(
        `SELECT r.* FROM runs r JOIN (SELECT kind, max(seq) AS seq FROM runs WHERE outcome <> 'skipped' GROUP BY kind) m
         ON r.seq = m.seq ORDER BY r.kind`,
      ),
      lastStarts: this.db.prepare(
        'SELECT kind, max(started_at) AS at FROM runs WHERE started_at IS NOT NULL GROUP BY kind',
      ),
      freelist: this.db.prepare('PRAGMA freelist_count'),
    };
  }

  static inDir(stateDir: string, limits: Partial<OutboxLimits> = {}, events: OutboxEvents = {}): Outbox {
    return new Outbox(join(stateDir, 'outbox.db'), limits, events);
  }

  #migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    // A file from the first cut has the tables of migration 1 but user_version 0.
    const hasOutbox = this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").get() !== undefined;
    const from = current === 0 && hasOutbox ? 1 : current;
    if (from > MIGRATIONS.length) {
      throw new Error(`outbox schema ${from} is newer than this agent knows (${MIGRATIONS.length})`);
    }
    for (let v = from; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        for (const sql of MIGRATIONS[v]!) this.db.exec(sql);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /**
   * Queue a result (durably), then enforce the disk bound. Queuing the same id twice is a no-op.
   * On a full disk the result is held in memory instead (see the policy above); never throws for that.
   */
  enqueue(result: Result, now: number): void {
    this.flushHeld();
    if (this.#held.length > 0) {
      this.#hold(result, now, undefined);
      return;
    }
    try {
      this.#write(result, now);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.#hold(result, now, err);
    }
  }

  #hold(result: Result, now: number, err: unknown): void {
    if (this.#held.some((h) => h.result.id === result.id)) return;
    this.#held.push({ result, now });
    if (this.#held.length > OUTBOX_MEMORY_HOLD_MAX) {
      this.#held.shift();
      this.#heldDropped++;
      this.#events.onDrop?.(1, 0);
    }
    this.#events.onHold?.(this.#held.length, err);
  }

  /** Write held results to the file while there is room; returns how many are still held. */
  flushHeld(): number {
    while (this.#held.length > 0) {
      const h = this.#held[0]!;
      try {
        this.#write(h.result, h.now);
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        return this.#held.length;
      }
      this.#held.shift();
    }
    if (this.#heldDropped > 0) {
      try {
        this.set('outbox.dropped', String(Number(this.get('outbox.dropped') ?? 0) + this.#heldDropped));
        this.#heldDropped = 0;
      } catch (err) {
        if (!isDiskFull(err)) throw err;
      }
    }
    return 0;
  }

  /** Results held in memory because the disk was full. */
  held(): number {
    return this.#held.length;
  }

  #write(result: Result, now: number): void {
    const body = JSON.stringify(result);
    const size = Buffer.byteLength(body);
    let dropped = { count: 0, bytes: 0 };
    this.db.transaction(() => {
      this.#s.insert.run(result.id, result.kind, now, body, size);
      dropped = this.#enforceBound();
    })();
    if (dropped.count > 0) this.#events.onDrop?.(dropped.count, dropped.bytes);
  }

  #enforceBound(): { count: number; bytes: number } {
    const d = this.#s.depth.get() as { n: number; bytes: number };
    let excess = d.bytes - this.limits.maxBytes;
    if (excess <= 0) return { count: 0, bytes: 0 };
    let count = 0;
    let bytes = 0;
    let upTo = 0;
    // Never drop the newest result.
    for (const row of this.#s.oldestRows.iterate(Math.max(0, d.n - 1)) as Iterable<{ seq: number; size: number }>) {
      if (excess <= 0) break;
      excess -= row.size;
      bytes += row.size;
      count++;
      upTo = row.seq;
    }
    if (count === 0) return { count, bytes };
    this.#s.delUpTo.run(upTo);
    this.set('outbox.dropped', String(Number(this.get('outbox.dropped') ?? 0) + count));
    this.set('outbox.droppedBytes', String(Number(this.get('outbox.droppedBytes') ?? 0) + bytes));
    return { count, bytes };
  }

  /**
   * The oldest results, in the order they were queued: at most `limit`, and at most `maxBytes` of
   * JSON (the ingest limit less room for the envelope) — but always at least one.
   */
  peek(limit: number, maxBytes = MAX_INGEST_BODY_BYTES - ENVELOPE_ROOM): Result[] {
    this.flushHeld();
    const out: Result[] = [];
    let total = 0;
    for (const r of this.#s.batch.iterate(limit) as Iterable<{ body: string; size: number }>) {
      if (out.length > 0 && total + r.size + 1 > maxBytes) break;
      total += r.size + 1;
      out.push(JSON.parse(r.body) as Result);
    }
    // Held results (disk full) go out after the stored ones, from memory.
    for (const h of this.#held) {
      if (out.length >= limit) break;
      const size = Buffer.byteLength(JSON.stringify(h.result));
      if (out.length > 0 && total + size + 1 > maxBytes) break;
      total += size + 1;
      out.push(h.result);
    }
    return out;
  }

  /** Delete acknowledged results; move rejected ones to the dead letters. One transaction. */
  settle(
    acked: readonly string[],
    rejected: ReadonlyArray<{ id: string | null; code: string; message: string }>,
    now: number,
  ): { deleted: number; dead: number } {
    let deleted = 0;
    let dead = 0;
    // Acknowledged held results are forgotten first: that needs no disk.
    if (this.#held.length > 0) {
      const done = new Set(acked);
      for (let i = this.#held.length - 1; i >= 0; i--) {
        if (done.has(this.#held[i]!.result.id)) {
          this.#held.splice(i, 1);
          deleted++;
        }
      }
    }
    this.db.transaction(() => {
      for (const id of acked) deleted += this.#s.del.run(id).changes;
      for (const r of rejected) {
        if (r.id === null) continue;
        const row = this.#s.get.get(r.id) as { id: string; kind: string; created_at: number; body: string } | undefined;
        if (!row) continue;
        this.#s.dead.run(row.id, row.kind, row.created_at, now, r.code, r.message.slice(0, 1000), row.body);
        this.#s.del.run(r.id);
        dead++;
      }
      if (dead > 0) this.#s.deadTrim.run(this.limits.maxDeadLetters);
    })();
    this.#reclaim();
    return { deleted, dead };
  }

  /** Return freed pages to the file system once enough have piled up (a drained backlog). */
  #reclaim(): void {
    try {
      const free = (this.#s.freelist.get() as { freelist_count: number }).freelist_count;
      if (free >= 256) this.db.pragma(`incremental_vacuum(${free})`);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
    }
  }

  /** Results waiting to be delivered: in the file plus any held in memory (disk full). */
  depth(): { count: number; oldest: number | null; bytes: number } {
    const r = this.#s.depth.get() as { n: number; bytes: number; oldest: number | null };
    let { n, bytes, oldest } = r;
    for (const h of this.#held) {
      n++;
      bytes += Buffer.byteLength(JSON.stringify(h.result));
      oldest = oldest === null ? h.now : Math.min(oldest, h.now);
    }
    return { count: n, oldest, bytes };
  }

  stats(): OutboxStats {
    const d = this.depth();
    let fileBytes = 0;
    try {
      const pages = this.db.pragma('page_count', { simple: true }) as number;
      const size = this.db.pragma('page_size', { simple: true }) as number;
      fileBytes = pages * size;
    } catch {
      /* not important */
    }
    return {
      ...d,
      dropped: Number(this.get('outbox.dropped') ?? 0) + this.#heldDropped,
      held: this.#held.length,
      deadLetters: this.deadLetterCount(),
      fileBytes,
    };
  }

  /**
   * The status block an ingest envelope carries (docs/protocol.md §1.1): what stays queued once
   * the first `inBatch` results (the batch being sent, as peek() listed them) are acknowledged,
   * the oldest of those with its own times, the dead letters kept and the results dropped.
   * Cheap enough for every push: two counts, one row found by position, one kv read.
   */
  status(inBatch: number): AgentStatus {
    const stored = (this.#s.count.get() as { n: number }).n;
    const queued = Math.max(0, stored + this.#held.length - inBatch);
    const cap = (n: number) => Math.min(MAX_AGENT_STATUS_COUNT, n);
    const out: AgentStatus = {
      queued: cap(queued),
      deadLetters: cap(this.deadLetterCount()),
      dropped: cap(Number(this.get('outbox.dropped') ?? 0) + this.#heldDropped),
    };
    if (queued === 0) return out;
    // peek() lists stored results first, then held ones, so the next to go is at position inBatch.
    let oldest: { startedAt: unknown; bootId: unknown; uptimeMs: unknown } | undefined;
    if (inBatch < stored) {
      oldest = this.#s.nthStamp.get(inBatch) as typeof oldest;
    } else {
      const held = this.#held[inBatch - stored]?.result;
      if (held) oldest = { startedAt: held.startedAt, bootId: held.clock.bootId, uptimeMs: held.clock.uptimeMs };
    }
    if (
      oldest &&
      typeof oldest.startedAt === 'string' &&
      typeof oldest.bootId === 'string' &&
      typeof oldest.uptimeMs === 'number'
    ) {
      out.oldestQueued = { startedAt: oldest.startedAt, clock: { bootId: oldest.bootId, uptimeMs: oldest.uptimeMs } };
    }
    return out;
  }

  deadLetterCount(): number {
    return (this.#s.deadCount.get() as { n: number }).n;
  }

  deadLetters(limit = 20): DeadLetter[] {
    return this.#s.deadList.all(limit) as DeadLetter[];
  }

  deadLetterBody(id: string): Result | undefined {
    const r = this.#s.deadBody.get(id) as { body: string } | undefined;
    return r ? (JSON.parse(r.body) as Result) : undefined;
  }

  recordRun(r: RunRow): void {
    this.db.transaction(() => {
      this.#s.runInsert.run(r);
      this.#s.runTrim.run(this.limits.keepRuns);
    })();
  }

  recentRuns(limit = 20): Array<RunRow & { seq: number }> {
    return this.#s.runsRecent.all(limit) as Array<RunRow & { seq: number }>;
  }

  /** The latest run of each kind that was not skipped. */
  latestRuns(): Array<RunRow & { seq: number }> {
    return this.#s.runsLatest.all() as Array<RunRow & { seq: number }>;
  }

  /** Wall time of the last start of each kind (for catch-up after a restart). */
  lastStarts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.#s.lastStarts.all() as Array<{ kind: string; at: number }>) out[r.kind] = r.at;
    return out;
  }

  get(key: string): string | undefined {
    return (this.#s.kvGet.get(key) as { value: string } | undefined)?.value;
  }

  set(key: string, value: string): void {
    this.#s.kvSet.run(key, value);
  }

  delete(key: string): void {
    this.#s.kvDel.run(key);
  }

  getJson<T>(key: string): T | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      return undefined;
    }
  }

  setJson(key: string, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }

  close(): void {
    if (!this.db.open) return;
    try {
      // Fold the WAL into the main file so the state directory is one file at rest.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* another reader holds it; the WAL is still durable */
    }
    this.db.close();
  }
}
