import { RESULT_KINDS } from '@hatang/shared';
import type { Db } from './db.js';

/** Rows deleted per statement, so a large prune never holds the write lock for long. */
export const PRUNE_CHUNK = 5000;

/**
 * Delete raw results that started before `beforeMs`, a chunk at a time (rollups, and with them
 * every statistic, are kept). `between` runs between chunks (the server yields to the event loop
 * there). Returns the number of results deleted.
 */
export async function pruneRawResults(
  db: Db,
  beforeMs: number,
  between: () => Promise<void> = async () => {},
): Promise<number> {
  const del = db.prepare(
    `DELETE FROM results WHERE seq IN
       (SELECT seq FROM results INDEXED BY results_kind_time WHERE kind = ? AND started_at < ? LIMIT ${PRUNE_CHUNK})`,
  );
  const boots = db.prepare('DELETE FROM agent_boots WHERE seen_at < ?');
  let total = 0;
  for (const kind of RESULT_KINDS) {
    for (;;) {
      const n = del.run(kind, beforeMs).changes;
      total += n;
      if (n < PRUNE_CHUNK) break;
      await between();
    }
  }
  boots.run(beforeMs);
  return total;
}

/** Online backup to `file` (better-sqlite3 / SQLite backup API): the collector may keep running. */
export async function backupDb(
  db: Db,
  file: string,
  onProgress?: (p: { totalPages: number; remainingPages: number }) => void,
): Promise<{ totalPages: number }> {
  let totalPages = 0;
  await db.backup(file, {
    progress(p) {
      totalPages = p.totalPages;
      onProgress?.(p);
      return 200; // pages per step: the source stays usable between steps
    },
  });
  return { totalPages };
}
