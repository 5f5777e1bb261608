import {
  dayStartMs as dayStartMsOf,
  localDayOf,
  monthOf,
  monthPeriod,
  periodOf,
  RESULT_FLAGS,
  weekOfDay,
} from '@hatang/shared';
import type { Db } from '../storage/db.js';
import { createRollupRepo, type RollupKind, type RollupRepo, type RollupSample } from '../storage/rollups.js';

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
  kind: RollupKind;
  firstDay: number;
  line: number;
  samples: RollupSample[];
}

/** Samples gathered during one ingest batch (or one rebuilt range), written with one upsert per row. */
export class RollupBatch {
  readonly #groups = new Map<string, Group>();
  readonly #repo: RollupRepo;
  /** Week and month first days of a local day (memo). */
  readonly #periodsOfDay = new Map<number, [number, number]>();

  /** Only periods whose first day lies in these ranges are written (rebuilds). */
  readonly #only: { week: [number, number]; month: [number, number] } | undefined;

  constructor(repo: RollupRepo, only?: { week: [number, number]; month: [number, number] }) {
    this.#repo = repo;
    this.#only = only;
  }

  #push(kind: RollupKind, firstDay: number, line: number, s: RollupSample): void {
    const only = this.#only?.[kind];
    if (only && (firstDay < only[0] || firstDay > only[1])) return;
    const key = `${kind}:${firstDay}:${line}`;
    const g = this.#groups.get(key);
    if (g) g.samples.push(s);
    else this.#groups.set(key, { kind, firstDay, line, samples: [s] });
  }

  add(agentId: string, access: string, isp: string, s: RollupSample): void {
    const day = localDayOf(s.at);
    let p = this.#periodsOfDay.get(day);
    if (!p) {
      p = [weekOfDay(day).firstDay, periodOf('month', s.at).firstDay];
      this.#periodsOfDay.set(day, p);
    }
    const line = this.#repo.line(agentId, access, isp);
    this.#push('week', p[0], line, s);
    this.#push('month', p[1], line, s);
  }

  get size(): number {
    return this.#groups.size;
  }

  /** Append everything to the rollups; returns the local days touched and the rows written. */
  flush(): { days: number[]; rows: number } {
    const days = new Set<number>();
    const rows = this.#groups.size;
    for (const g of this.#groups.values()) {
      this.#repo.append(g.kind, g.firstDay, g.line, g.samples);
      for (const s of g.samples) days.add(localDayOf(s.at));
    }
    this.#groups.clear();
    return { days: [...days], rows };
  }
}

/**
 * Recompute the rollups of every week and month that overlaps local days [firstDay, lastDay],
 * from the raw results still stored. Periods whose raw results were pruned would lose their
 * statistics, so callers pick a range raw results cover (the CLI defaults to it).
 */
export function rebuildRollups(db: Db, firstDay: number, lastDay: number): { rows: number; samples: number } {
  const repo = createRollupRepo(db);
  const monthOfDay = (d: number) => {
    const m = monthOf(dayStartMsOf(d));
    return monthPeriod(m.year, m.month);
  };
  const w0 = weekOfDay(firstDay);
  const w1 = weekOfDay(lastDay);
  const m0 = monthOfDay(firstDay);
  const m1 = monthOfDay(lastDay);
  const only = {
    week: [w0.firstDay, w1.firstDay] as [number, number],
    month: [m0.firstDay, m1.firstDay] as [number, number],
  };
  return db.transaction(() => {
    repo.deletePeriods('week', w0.firstDay, w1.firstDay);
    repo.deletePeriods('month', m0.firstDay, m1.firstDay);
    let samples = 0;
    let rows = 0;
    const batch = new RollupBatch(repo, only);
    // Every day of the periods rebuilt, one day at a time (better-sqlite3 cannot write while a
    // read iterator is open). Appends concatenate, so flushing per day builds whole periods.
    for (let d = Math.min(w0.firstDay, m0.firstDay); d <= Math.max(w1.lastDay, m1.lastDay); d++) {
      for (const r of repo.counted(dayStartMsOf(d), dayStartMsOf(d + 1))) {
        batch.add(r.agent_id, r.access, normIsp(r.isp), {
          at: r.started_at,
          down: r.download_bps,
          up: r.upload_bps,
          lat: r.latency_ms,
        });
        samples++;
      }
      rows += batch.flush().rows;
    }
    return { rows, samples };
  })();
}
