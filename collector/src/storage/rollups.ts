import { endianness } from 'node:os';
import { RESULT_FLAGS } from '@hatang/shared';
import type { Db } from './db.js';

/**
 * Rollups (docs/statistics.md): one row per period (ISO week, calendar month) × line (agent ×
 * access × ISP) with every counted speed test of that period packed as float64 tuples
 * [startedAt ms, download bps, upload bps, latency ms], NaN where a figure is missing. Appending
 * is a single upsert that concatenates blobs, so ingest never reads the row back.
 */

export const SAMPLE_FIELDS = 4;
export const SAMPLE_BYTES = SAMPLE_FIELDS * 8;

export interface RollupSample {
  at: number;
  down: number | null;
  up: number | null;
  lat: number | null;
}

export type RollupKind = 'week' | 'month';

export interface RollupRow {
  /** First local day number of the period. */
  firstDay: number;
  line: number;
  samples: Buffer;
}

export interface LineRow {
  line: number;
  agent_id: string;
  access: string;
  isp: string;
}

const LE = endianness() === 'LE';

export function encodeSamples(list: readonly RollupSample[]): Buffer {
  const buf = Buffer.allocUnsafe(list.length * SAMPLE_BYTES);
  let o = 0;
  for (const s of list) {
    buf.writeDoubleLE(s.at, o);
    buf.writeDoubleLE(s.down ?? Number.NaN, o + 8);
    buf.writeDoubleLE(s.up ?? Number.NaN, o + 16);
    buf.writeDoubleLE(s.lat ?? Number.NaN, o + 24);
    o += SAMPLE_BYTES;
  }
  return buf;
}

/** The tuples of a rollup blob as one flat Float64Array (length = 4 × samples). */
export function decodeSamples(buf: Buffer): Float64Array {
  const n = Math.floor(buf.length / 8);
  if (LE && buf.byteOffset % 8 === 0) return new Float64Array(buf.buffer, buf.byteOffset, n);
  if (LE) return new Float64Array(Uint8Array.prototype.slice.call(buf, 0, n * 8).buffer);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

/**
 * Several rollup blobs decoded into one Float64Array (one allocation for a whole period instead of
 * one per row); blob i's floats are all.subarray(starts[i], starts[i + 1]).
 */
export function decodeAll(bufs: readonly Uint8Array[]): { all: Float64Array; starts: Uint32Array } {
  const starts = new Uint32Array(bufs.length + 1);
  let n = 0;
  bufs.forEach((b, i) => {
    starts[i] = n;
    n += Math.floor(b.length / 8);
  });
  starts[bufs.length] = n;
  const all = new Float64Array(n);
  if (LE) {
    const bytes = new Uint8Array(all.buffer);
    bufs.forEach((b, i) => {
      bytes.set(b.subarray(0, ((starts[i + 1] as number) - (starts[i] as number)) * 8), (starts[i] as number) * 8);
    });
  } else {
    bufs.forEach((b, i) => {
      const v = new DataView(b.buffer, b.byteOffset, b.length);
      for (let k = starts[i] as number, o = 0; k < (starts[i + 1] as number); k++, o += 8)
        all[k] = v.getFloat64(o, true);
    });
  }
  return { all, starts };
}

/**
 * The download figures of a rollup blob (the second float64 of each tuple), bytes copied as they
 * are: what rollup_downloads holds for the row (migration 13).
 */
export function downloadsOf(samples: Uint8Array): Buffer {
  const n = Math.floor(samples.length / SAMPLE_BYTES);
  const out = Buffer.allocUnsafe(n * 8);
  for (let i = 0; i < n; i++) out.set(samples.subarray(i * SAMPLE_BYTES + 8, i * SAMPLE_BYTES + 16), i * 8);
  return out;
}

/** Fill rollup_downloads from rollup_periods, a period at a time (migration 13 on an existing database). */
export function backfillRollupDownloads(db: Db): void {
  const periods = db.prepare('SELECT DISTINCT kind, first_day FROM rollup_periods').raw().all() as [string, number][];
  const read = db.prepare('SELECT line, samples FROM rollup_periods WHERE kind = ? AND first_day = ?').raw();
  const add = db.prepare('INSERT INTO rollup_downloads (kind, first_day, line, down) VALUES (?, ?, ?, ?)');
  for (const [kind, firstDay] of periods) {
    for (const [line, samples] of read.all(kind, firstDay) as [number, Buffer][]) {
      add.run(kind, firstDay, line, downloadsOf(samples));
    }
  }
}

/** SQL condition for results that feed the statistics. */
export const COUNTED_RESULT_SQL = `r.kind = 'speed' AND r.status = 'ok' AND (r.flags & ${RESULT_FLAGS.TIME_IMPLAUSIBLE}) = 0
  AND (r.download_bps IS NOT NULL OR r.upload_bps IS NOT NULL OR r.latency_ms IS NOT NULL)`;

export function createRollupRepo(db: Db) {
  const s = {
    lineOf: db.prepare('SELECT line FROM rollup_lines WHERE agent_id = ? AND access = ? AND isp = ?').pluck(),
    addLine: db.prepare('INSERT INTO rollup_lines (agent_id, access, isp) VALUES (?, ?, ?)'),
    lines: db.prepare('SELECT line, agent_id, access, isp FROM rollup_lines'),
    linesOf: db.prepare('SELECT line FROM rollup_lines WHERE agent_id = ?').pluck(),
    append: db.prepare(
      `INSERT INTO rollup_periods (kind, first_day, line, n, samples) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kind, first_day, line) DO UPDATE
         SET n = n + excluded.n, samples = CAST(samples || excluded.samples AS BLOB)`,
    ),
    appendDown: db.prepare(
      `INSERT INTO rollup_downloads (kind, first_day, line, down) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, first_day, line) DO UPDATE SET down = CAST(down || excluded.down AS BLOB)`,
    ),
    // One row for the whole period: SQLite concatenates the blobs (bytes as stored) in line order,
    // with each line and its length beside; reading 1 000 rows one by one costs more than their bytes.
    downByPeriod: db
      .prepare(
        `SELECT group_concat(line, ',' ORDER BY line), group_concat(length(down), ',' ORDER BY line),
                CAST(group_concat(down, '' ORDER BY line) AS BLOB)
           FROM rollup_downloads WHERE kind = ? AND first_day = ?`,
      )
      .raw(),
    downByLine: db
      .prepare(
        'SELECT first_day, down FROM rollup_downloads INDEXED BY rollup_downloads_line WHERE line = ? AND kind = ? AND first_day BETWEEN ? AND ?',
      )
      .raw(),
    deleteDown: db.prepare('DELETE FROM rollup_downloads WHERE kind = ? AND first_day BETWEEN ? AND ?'),
    byPeriod: db.prepare('SELECT first_day, line, samples FROM rollup_periods WHERE kind = ? AND first_day = ?').raw(),
    byLine: db
      .prepare(
        'SELECT first_day, line, samples FROM rollup_periods WHERE line = ? AND kind = ? AND first_day BETWEEN ? AND ?',
      )
      .raw(),
    deletePeriods: db.prepare('DELETE FROM rollup_periods WHERE kind = ? AND first_day BETWEEN ? AND ?'),
    counted: db.prepare(
      `SELECT r.agent_id, r.started_at, r.access, coalesce(a.isp, r.isp, '') AS isp,
              r.download_bps, r.upload_bps, r.latency_ms
       FROM results r JOIN agents a ON a.id = r.agent_id
       WHERE r.kind = 'speed' AND r.started_at >= ? AND r.started_at < ? AND ${COUNTED_RESULT_SQL}
       ORDER BY r.started_at`,
    ),
    summary: db.prepare(
      "SELECT count(*) AS rows, coalesce(sum(n), 0) AS samples, min(first_day) AS first, max(first_day) AS last FROM rollup_periods WHERE kind = 'week'",
    ),
  };
  // Lines never change once made, so their ids are remembered.
  const lineCache = new Map<string, number>();
  const toRows = (raw: unknown[][]): RollupRow[] =>
    raw.map(([firstDay, line, samples]) => ({
      firstDay: firstDay as number,
      line: line as number,
      samples: samples as Buffer,
    }));
  return {
    /** The line id of agent × access × ISP, made on first use. */
    line(agentId: string, access: string, isp: string): number {
      const key = `${agentId}\u0000${access}\u0000${isp}`;
      let id = lineCache.get(key);
      if (id === undefined) {
        id =
          (s.lineOf.get(agentId, access, isp) as number | undefined) ??
          Number(s.addLine.run(agentId, access, isp).lastInsertRowid);
        lineCache.set(key, id);
      }
      return id;
    },
    lines: () => s.lines.all() as LineRow[],
    linesOf: (agentId: string) => s.linesOf.all(agentId) as number[],
    append(kind: RollupKind, firstDay: number, line: number, samples: readonly RollupSample[]): void {
      if (!samples.length) return;
      const blob = encodeSamples(samples);
      s.append.run(kind, firstDay, line, samples.length, blob);
      s.appendDown.run(kind, firstDay, line, downloadsOf(blob));
    },
    /** Every line's row of one period. */
    byPeriod(kind: RollupKind, firstDay: number): RollupRow[] {
      return toRows(s.byPeriod.all(kind, firstDay) as unknown[][]);
    },
    /** One line's rows of periods starting in [firstDay, lastFirstDay]. */
    byLine(line: number, kind: RollupKind, firstDay: number, lastFirstDay: number): RollupRow[] {
      return toRows(s.byLine.all(line, kind, firstDay, lastFirstDay) as unknown[][]);
    },
    /** Every line's download figures of one period: [line, blob of float64]. */
    downloadsByPeriod(kind: RollupKind, firstDay: number): { lines: number[]; lengths: number[]; bytes: Buffer } {
      const [lines, lengths, bytes] = s.downByPeriod.get(kind, firstDay) as [
        string | null,
        string | null,
        Buffer | null,
      ];
      if (lines === null || lengths === null || bytes === null)
        return { lines: [], lengths: [], bytes: Buffer.alloc(0) };
      return { lines: lines.split(',').map(Number), lengths: lengths.split(',').map(Number), bytes };
    },
    /** One line's download figures of periods starting in [firstDay, lastFirstDay]: [first day, blob]. */
    downloadsByLine(line: number, kind: RollupKind, firstDay: number, lastFirstDay: number): [number, Buffer][] {
      return s.downByLine.all(line, kind, firstDay, lastFirstDay) as [number, Buffer][];
    },
    deletePeriods(kind: RollupKind, firstDay: number, lastFirstDay: number): number {
      s.deleteDown.run(kind, firstDay, lastFirstDay);
      return s.deletePeriods.run(kind, firstDay, lastFirstDay).changes;
    },
    /** Counted results with start in [fromMs, toMs), oldest first (for rebuilding rollups). */
    counted(fromMs: number, toMs: number) {
      return s.counted.all(fromMs, toMs) as Array<{
        agent_id: string;
        started_at: number;
        access: string;
        isp: string;
        download_bps: number | null;
        upload_bps: number | null;
        latency_ms: number | null;
      }>;
    },
    summary() {
      return s.summary.get() as { rows: number; samples: number; first: number | null; last: number | null };
    },
  };
}

export type RollupRepo = ReturnType<typeof createRollupRepo>;
