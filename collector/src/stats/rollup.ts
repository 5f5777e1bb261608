import { dayStartMs, localDayOf, RESULT_FLAGS } from '@hatang/shared';
import type { Db } from '../storage/db.js';
import { createRollupRepo, type RollupRepo, type RollupSample } from '../storage/rollups.js';

/** ISP label as stored in rollups: trimmed, inner spaces collapsed, at most 64 characters ('' when unknown). */
export function normIsp(isp: string | null | undefined): string {
  return (isp ?? '').trim().replace(/\s+/g, ' ').slice(0, 64);
}

/** Whether a stored result feeds the statistics (docs/statistics.md "Which tests count"). */
export function countsInStats(r: {
  kind: string;
  status: string;
  flags: number;
  downloadBps: number | null;
  uploadBps: number | null;
  latencyMs: number | null;
}): boolean {
  return (
    r.kind === 'speed' &&
    r.status === 'ok' &&
    (r.flags & RESULT_FLAGS.TIME_IMPLAUSIBLE) === 0 &&
    (r.downloadBps !== null || r.uploadBps !== null || r.latencyMs !== null)
  );
}

interface Group {
  agentId: string;
  day: number;
  access: string;
  isp: string;
  samples: RollupSample[];
}

/** Samples gathered during one ingest batch (or one rebuilt day), written with one upsert per row. */
export class RollupBatch {
  readonly #groups = new Map<string, Group>();

  add(agentId: string, access: string, isp: string, s: RollupSample): void {
    const day = localDayOf(s.at);
    const key = `${agentId}\u0000${day}\u0000${access}\u0000${isp}`;
    const g = this.#groups.get(key);
    if (g) g.samples.push(s);
    else this.#groups.set(key, { agentId, day, access, isp, samples: [s] });
  }

  get size(): number {
    return this.#groups.size;
  }

  /** Append everything to the rollups; returns the local days touched and the rows written. */
  flush(repo: RollupRepo): { days: number[]; rows: number } {
    const days = new Set<number>();
    const rows = this.#groups.size;
    for (const g of this.#groups.values()) {
      repo.append(g.agentId, g.day, g.access, g.isp, g.samples);
      days.add(g.day);
    }
    this.#groups.clear();
    return { days: [...days], rows };
  }
}

/**
 * Recompute the rollups of local days [firstDay, lastDay] from the raw results still stored. Days
 * whose raw results were pruned would lose their statistics, so callers pick a range raw results
 * cover (the CLI defaults to it).
 */
export function rebuildRollups(db: Db, firstDay: number, lastDay: number): { rows: number; samples: number } {
  const repo = createRollupRepo(db);
  return db.transaction(() => {
    repo.deleteDays(firstDay, lastDay);
    let samples = 0;
    let rows = 0;
    const batch = new RollupBatch();
    // One day at a time: better-sqlite3 cannot write while a read iterator is open.
    for (let d = firstDay; d <= lastDay; d++) {
      for (const r of repo.counted(dayStartMs(d), dayStartMs(d + 1))) {
        batch.add(r.agent_id, r.access, normIsp(r.isp), {
          at: r.started_at,
          down: r.download_bps,
          up: r.upload_bps,
          lat: r.latency_ms,
        });
        samples++;
      }
      rows += batch.flush(repo).rows;
    }
    return { rows, samples };
  })();
}
