import { endianness } from 'node:os';
import { RESULT_FLAGS } from '@hatang/shared';
import type { Db } from './db.js';

/**
 * Per-agent daily rollups (docs/statistics.md): one row per agent × local day × access × ISP with
 * every counted speed test of that day packed as float64 tuples [startedAt ms, download bps,
 * upload bps, latency ms], NaN where a figure is missing. Appending is a single upsert that
 * concatenates blobs, so ingest never reads the row back.
 */

export const SAMPLE_FIELDS = 4;
export const SAMPLE_BYTES = SAMPLE_FIELDS * 8;

export interface RollupSample {
  at: number;
  down: number | null;
  up: number | null;
  lat: number | null;
}

export interface RollupRow {
  agent_id: string;
  day: number;
  access: string;
  isp: string;
  samples: Buffer;
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

/** SQL condition for results that feed the statistics. */
export const COUNTED_RESULT_SQL = `r.kind = 'speed' AND r.status = 'ok' AND (r.flags & ${RESULT_FLAGS.TIME_IMPLAUSIBLE}) = 0
  AND (r.download_bps IS NOT NULL OR r.upload_bps IS NOT NULL OR r.latency_ms IS NOT NULL)`;

export function createRollupRepo(db: Db) {
  const s = {
    append: db.prepare(
      `INSERT INTO rollup_agent_day (agent_id, day, access, isp, n, samples) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent_id, day, access, isp) DO UPDATE
         SET n = n + excluded.n, samples = CAST(samples || excluded.samples AS BLOB)`,
    ),
    byDays: db
      .prepare('SELECT agent_id, day, access, isp, samples FROM rollup_agent_day WHERE day BETWEEN ? AND ?')
      .raw(),
    byAgentDays: db
      .prepare(
        'SELECT agent_id, day, access, isp, samples FROM rollup_agent_day WHERE agent_id = ? AND day BETWEEN ? AND ?',
      )
      .raw(),
    deleteDays: db.prepare('DELETE FROM rollup_agent_day WHERE day BETWEEN ? AND ?'),
    counted: db.prepare(
      `SELECT r.agent_id, r.started_at, r.access, coalesce(a.isp, r.isp, '') AS isp,
              r.download_bps, r.upload_bps, r.latency_ms
       FROM results r JOIN agents a ON a.id = r.agent_id
       WHERE r.started_at >= ? AND r.started_at < ? AND ${COUNTED_RESULT_SQL}
       ORDER BY r.started_at`,
    ),
    stats: db.prepare(
      'SELECT count(*) AS rows, coalesce(sum(n), 0) AS samples, min(day) AS first, max(day) AS last FROM rollup_agent_day',
    ),
  };
  const toRows = (raw: unknown[][]): RollupRow[] =>
    raw.map(([agent_id, day, access, isp, samples]) => ({
      agent_id: agent_id as string,
      day: day as number,
      access: access as string,
      isp: isp as string,
      samples: samples as Buffer,
    }));
  return {
    append(agentId: string, day: number, access: string, isp: string, samples: readonly RollupSample[]): void {
      if (samples.length) s.append.run(agentId, day, access, isp, samples.length, encodeSamples(samples));
    },
    byDays(firstDay: number, lastDay: number): RollupRow[] {
      return toRows(s.byDays.all(firstDay, lastDay) as unknown[][]);
    },
    byAgentDays(agentId: string, firstDay: number, lastDay: number): RollupRow[] {
      return toRows(s.byAgentDays.all(agentId, firstDay, lastDay) as unknown[][]);
    },
    deleteDays(firstDay: number, lastDay: number): number {
      return s.deleteDays.run(firstDay, lastDay).changes;
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
      return s.stats.get() as { rows: number; samples: number; first: number | null; last: number | null };
    },
  };
}

export type RollupRepo = ReturnType<typeof createRollupRepo>;
