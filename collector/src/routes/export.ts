import { Readable } from 'node:stream';
import {
  API_PREFIX,
  DAY_MS,
  ErrorBody,
  HatangError,
  MAX_EXPORT_ROWS,
  REPORT_TZ_OFFSET_MS,
  RESULT_KINDS,
  UnitCode,
  UnitsQuerySchema,
} from '@hatang/shared';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type Cell, csvLine, UTF8_BOM } from '../csv.js';
import { localIso } from '../stats/service.js';
import { naming, onlyQuery } from './query-guard.js';

/**
 * CSV downloads (docs/protocol.md §5): raw results and the per-unit statistics tables, UTF-8
 * with a byte-order mark (Excel reads Vietnamese), RFC 4180 quoting, headers in Vietnamese by
 * default (`lang=en` for English). Readers see only units their scope covers.
 */

const Lang = Type.Optional(Type.Union([Type.Literal('vi'), Type.Literal('en')], { description: 'Header language.' }));
const DateStr = (description: string) => Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description });

const ResultsQuery = Type.Object(
  {
    from: Type.Optional(DateStr('First local date (Asia/Ho_Chi_Minh); default 7 days before `to`.')),
    to: Type.Optional(DateStr('Last local date, inclusive; default today.')),
    unit: Type.Optional(UnitCode('Only agents counting toward this unit (commune, district, province or group).')),
    kind: Type.Optional(
      Type.Union([...RESULT_KINDS.map((k) => Type.Literal(k)), Type.Literal('all')], {
        description: 'Result kind; default speed.',
      }),
    ),
    lang: Lang,
  },
  { additionalProperties: false },
);

const StatsCsvQuery = Type.Object({ ...UnitsQuerySchema.properties, lang: Lang }, { additionalProperties: false });

const RESULT_COLUMNS: [string, string][] = [
  ['result_id', 'Mã kết quả'],
  ['agent_id', 'Mã điểm đo'],
  ['agent_name', 'Tên điểm đo'],
  ['commune_code', 'Mã xã'],
  ['commune_name', 'Tên xã'],
  ['district_code', 'Mã huyện'],
  ['district_name', 'Tên huyện'],
  ['access', 'Loại truy cập'],
  ['isp', 'Nhà mạng'],
  ['kind', 'Loại phép đo'],
  ['status', 'Trạng thái'],
  ['started_at', 'Thời điểm đo (giờ Việt Nam)'],
  ['received_at', 'Thời điểm nhận (giờ Việt Nam)'],
  ['time_trusted', 'Thời gian tin cậy'],
  ['flags', 'Cờ'],
  ['download_mbps', 'Tải xuống (Mbit/s)'],
  ['upload_mbps', 'Tải lên (Mbit/s)'],
  ['latency_ms', 'Độ trễ (ms)'],
  ['jitter_ms', 'Độ dao động trễ (ms)'],
  ['loss_pct', 'Mất gói (%)'],
  ['bytes_used', 'Dữ liệu dùng (byte)'],
  ['server_id', 'Máy chủ đo'],
];

const STATS_COLUMNS: [string, string][] = [
  ['period', 'Kỳ'],
  ['unit_code', 'Mã đơn vị'],
  ['unit_name', 'Tên đơn vị'],
  ['level', 'Cấp'],
  ['parent_code', 'Mã đơn vị cấp trên'],
  ['parent_name', 'Tên đơn vị cấp trên'],
  ['access', 'Loại truy cập'],
  ['isp', 'Nhà mạng'],
  ['samples', 'Số mẫu'],
  ['agents', 'Số điểm đo'],
  ['download_median_mbps', 'Trung vị tải xuống (Mbit/s)'],
  ['download_mean_mbps', 'Trung bình tải xuống (Mbit/s)'],
  ['download_p10_mbps', 'P10 tải xuống (Mbit/s)'],
  ['download_p90_mbps', 'P90 tải xuống (Mbit/s)'],
  ['upload_median_mbps', 'Trung vị tải lên (Mbit/s)'],
  ['latency_median_ms', 'Trung vị độ trễ (ms)'],
  ['target_mbps', 'Chỉ tiêu (Mbit/s)'],
  ['attained', 'Đạt chỉ tiêu'],
  ['attainment_pct', 'Trung vị so với chỉ tiêu (%)'],
  ['share_at_target_pct', 'Tỷ lệ mẫu đạt chỉ tiêu (%)'],
  ['share_at_80_pct', 'Tỷ lệ mẫu đạt 80% chỉ tiêu (%)'],
  ['sample_floor', 'Số mẫu tối thiểu'],
  ['low_samples', 'Thiếu mẫu'],
  ['office_median_mbps', 'Trung vị giờ hành chính 08–17 (Mbit/s)'],
  ['evening_median_mbps', 'Trung vị cao điểm tối 19–23 (Mbit/s)'],
  ['previous_median_mbps', 'Trung vị kỳ trước (Mbit/s)'],
  ['change_pct', 'Thay đổi so với kỳ trước (%)'],
];

const VI: Record<string, string> = {
  fixed: 'cố định',
  mobile: 'di động',
  province: 'tỉnh',
  district: 'huyện',
  commune: 'xã',
  group: 'nhóm',
  true: 'có',
  false: 'không',
};

const mbps = (bps: number | null | undefined) => (bps === null || bps === undefined ? null : round(bps / 1e6, 2));
const pct = (r: number | null | undefined) => (r === null || r === undefined ? null : round(r * 100, 1));
function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

/** Start of a local date (Asia/Ho_Chi_Minh); a date that does not exist (2026-02-30) is refused, naming `param`. */
function localDateMs(date: string, param: string): number {
  const ms = Date.parse(`${date}T00:00:00+07:00`);
  // Date.parse rolls 2026-02-30 over to 2 March: compare the round trip.
  if (Number.isNaN(ms) || new Date(ms + REPORT_TZ_OFFSET_MS).toISOString().slice(0, 10) !== date) {
    throw new HatangError('HATANG_ERR_VALIDATION', `${param}: ${date.slice(0, 20)} is not a date`, {
      hint: 'Give a calendar date as YYYY-MM-DD.',
    });
  }
  return ms;
}

function attachment(reply: FastifyReply, name: string): void {
  reply.header('content-type', 'text/csv; charset=utf-8');
  reply.header('content-disposition', `attachment; filename="${name}"`);
  reply.header('cache-control', 'no-store');
}

interface ResultRow {
  seq: number;
  id: string;
  agent_id: string;
  kind: string;
  status: string;
  started_at: number;
  received_at: number;
  time_trusted: number;
  flags: number;
  access: string;
  isp: string | null;
  server_id: string | null;
  download_bps: number | null;
  upload_bps: number | null;
  latency_ms: number | null;
  jitter_ms: number | null;
  loss_pct: number | null;
  bytes_used: number;
}

const PAGE = 5000;

export async function exportRoutes(app: FastifyInstance, opts: { now?: () => number }) {
  const now = opts.now ?? Date.now;
  const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
  const page = app.db.prepare(
    `SELECT seq, id, agent_id, kind, status, started_at, received_at, time_trusted, flags, access, isp, server_id,
            download_bps, upload_bps, latency_ms, jitter_ms, loss_pct, bytes_used
     FROM results INDEXED BY results_kind_time
     WHERE kind = ? AND started_at < ? AND (started_at > ? OR (started_at = ? AND seq > ?))
     ORDER BY started_at, seq LIMIT ${PAGE}`,
  );
  const count = app.db
    .prepare(
      'SELECT count(*) FROM results INDEXED BY results_kind_time WHERE kind = ? AND started_at >= ? AND started_at < ?',
    )
    .pluck();
  const agentsStmt = app.db.prepare('SELECT id, name, commune_code FROM agents');

  app.get<{ Querystring: Static<typeof ResultsQuery> }>(
    `${API_PREFIX}/export/results.csv`,
    {
      schema: {
        tags: ['export'],
        summary: 'Raw results as CSV, with commune and district codes and names',
        querystring: ResultsQuery,
        produces: ['text/csv'],
        response: errors,
      },
      preValidation: onlyQuery(Object.keys(ResultsQuery.properties)),
      preHandler: app.requireReader,
    },
    async (req, reply) => {
      const q = req.query;
      const en = q.lang === 'en';
      const today = new Date(now() + REPORT_TZ_OFFSET_MS).toISOString().slice(0, 10);
      const toDate = q.to ?? today;
      const toMs = localDateMs(toDate, 'to') + DAY_MS;
      const fromMs = q.from ? localDateMs(q.from, 'from') : toMs - 7 * DAY_MS;
      if (fromMs >= toMs) throw new HatangError('HATANG_ERR_VALIDATION', '`from` must be on or before `to`');
      if (q.unit !== undefined) {
        naming('unit', () => app.stats.unit(q.unit!)); // 404 when unknown
        if (!app.canRead(req, q.unit)) throw new HatangError('HATANG_ERR_FORBIDDEN', `you may not read unit ${q.unit}`);
      }
      const kinds = q.kind === 'all' ? [...RESULT_KINDS] : [q.kind ?? 'speed'];
      const tree = app.stats.tree();
      // Agents whose results may go out: their commune counts toward the unit asked for and the
      // reader may read it. Attribution uses the hierarchy at the end of the range.
      const agents = new Map<string, { name: string; commune: string | null; district: string | null }>();
      for (const a of agentsStmt.all() as { id: string; name: string; commune_code: string | null }[]) {
        const commune = a.commune_code;
        const toward = commune ? tree.countsToward(commune, toMs - 1) : [];
        if (q.unit !== undefined && !toward.includes(q.unit)) continue;
        if (req.scope !== 'all' && !(commune && app.canRead(req, commune))) continue;
        const district = toward.find((c) => tree.get(c)?.level === 'district') ?? null;
        agents.set(a.id, { name: a.name, commune, district });
      }
      let total = 0;
      for (const k of kinds) total += count.get(k, fromMs, toMs) as number;
      if (total > MAX_EXPORT_ROWS) {
        throw new HatangError(
          'HATANG_ERR_OUT_OF_RANGE',
          `the range holds ${total} results, more than the ${MAX_EXPORT_ROWS} one export may return`,
          { hint: 'Narrow the dates (from, to) or choose a unit.' },
        );
      }
      const name = (code: string | null) => (code ? (tree.stateAt(code, toMs - 1)?.name ?? '') : '');
      const tr = (v: string) => (en ? v : (VI[v] ?? v));
      function* lines() {
        yield UTF8_BOM + csvLine(RESULT_COLUMNS.map(([e, v]) => (en ? e : v)));
        for (const kind of kinds) {
          let lastAt = fromMs - 1;
          let lastSeq = Number.MAX_SAFE_INTEGER;
          for (;;) {
            // One page at a time: no read iterator stays open on the connection ingest writes to.
            const rows = page.all(kind, toMs, lastAt, lastAt, lastSeq) as ResultRow[];
            let chunk = '';
            for (const r of rows) {
              const a = agents.get(r.agent_id);
              if (!a) continue;
              const cells: Cell[] = [
                r.id,
                r.agent_id,
                a.name,
                a.commune,
                name(a.commune),
                a.district,
                name(a.district),
                tr(r.access),
                r.isp,
                r.kind,
                r.status,
                localIso(r.started_at),
                localIso(r.received_at),
                tr(String(r.time_trusted === 1)),
                r.flags,
                mbps(r.download_bps),
                mbps(r.upload_bps),
                r.latency_ms,
                r.jitter_ms,
                r.loss_pct,
                r.bytes_used,
                r.server_id,
              ];
              chunk += csvLine(cells);
            }
            if (chunk) yield chunk;
            if (rows.length < PAGE) break;
            const last = rows[rows.length - 1] as ResultRow;
            lastAt = last.started_at;
            lastSeq = last.seq;
          }
        }
      }
      attachment(
        reply,
        `hatang-results-${q.from ?? new Date(fromMs + REPORT_TZ_OFFSET_MS).toISOString().slice(0, 10)}_${toDate}.csv`,
      );
      return reply.send(Readable.from(lines(), { objectMode: false }));
    },
  );

  app.get<{ Querystring: Static<typeof StatsCsvQuery> }>(
    `${API_PREFIX}/export/stats.csv`,
    {
      schema: {
        tags: ['export'],
        summary: 'The statistics table of /api/v1/stats/units as CSV (weekly by default)',
        querystring: StatsCsvQuery,
        produces: ['text/csv'],
        response: errors,
      },
      preValidation: onlyQuery(Object.keys(StatsCsvQuery.properties)),
      preHandler: app.requireReader,
    },
    async (req, reply) => {
      const q = req.query;
      const en = q.lang === 'en';
      const report = app.stats.units({
        period: q.period ?? 'week',
        at: q.at,
        level: q.level ?? 'commune',
        parent: q.parent ?? null,
        access: q.access,
        isp: q.isp,
        byIsp: q.byIsp,
        perAgent: q.perAgent,
        scope: req.scope,
      });
      if (q.parent && !app.canRead(req, q.parent) && report.rows.length === 0) {
        throw new HatangError('HATANG_ERR_FORBIDDEN', `you may not read unit ${q.parent}`);
      }
      const tree = app.stats.tree();
      const tr = (v: string) => (en ? v : (VI[v] ?? v));
      const rows = report.rows.map((r): Cell[] => [
        report.period.key,
        r.unit.code,
        r.unit.name,
        tr(r.unit.level),
        r.unit.parentCode,
        r.unit.parentCode ? (tree.stateAt(r.unit.parentCode, Date.parse(report.period.start))?.name ?? '') : '',
        tr(r.access),
        r.isp,
        r.samples,
        r.agents,
        mbps(r.download.median),
        mbps(r.download.mean),
        mbps(r.download.p10),
        mbps(r.download.p90),
        mbps(r.uploadMedian),
        r.latencyMedian === null ? null : round(r.latencyMedian, 1),
        mbps(r.target),
        r.attained === null ? null : tr(String(r.attained)),
        pct(r.attainment),
        pct(r.shareAtTarget),
        pct(r.shareAt80),
        r.sampleFloor,
        tr(String(r.lowSamples)),
        mbps(r.office.median),
        mbps(r.evening.median),
        mbps(r.previous.median),
        pct(r.change?.ratio),
      ]);
      attachment(
        reply,
        `hatang-${report.level}-${report.period.key}${report.parent ? `-${report.parent.code}` : ''}.csv`,
      );
      let body = UTF8_BOM + csvLine(STATS_COLUMNS.map(([e, v]) => (en ? e : v)));
      for (const r of rows) body += csvLine(r);
      return reply.send(body);
    },
  );
}
