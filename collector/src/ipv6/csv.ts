import type { Lang } from '@hatang/shared';
import type { Ipv6WeekReport } from './query.js';

/** Column keys, in order, with Vietnamese and English headers. */
const COLUMNS = [
  ['week', 'Tuần', 'week'],
  ['communeCode', 'Mã xã', 'commune_code'],
  ['communeName', 'Tên xã', 'commune_name'],
  ['districtCode', 'Mã huyện', 'district_code'],
  ['districtName', 'Tên huyện', 'district_name'],
  ['results', 'Số lần đo', 'results'],
  ['ipv6Present', 'Có IPv6', 'ipv6_present'],
  ['ipv6PresentPct', 'Tỷ lệ lần đo có IPv6 (%)', 'ipv6_present_pct'],
  ['v4ConnectMs', 'Kết nối IPv4, trung vị (ms)', 'v4_connect_median_ms'],
  ['v6ConnectMs', 'Kết nối IPv6, trung vị (ms)', 'v6_connect_median_ms'],
  ['v4DownloadMbps', 'Tải xuống qua IPv4, trung vị (Mbit/s)', 'v4_download_median_mbps'],
  ['v6DownloadMbps', 'Tải xuống qua IPv6, trung vị (Mbit/s)', 'v6_download_median_mbps'],
  ['target', 'Hệ thống', 'target'],
  ['targetAaaa', 'Có bản ghi AAAA', 'target_aaaa'],
  ['targetV6', 'Tới được qua IPv6', 'target_v6_reachable'],
  ['targetV6Pct', 'Tỷ lệ tới được qua IPv6 (%)', 'target_v6_ok_pct'],
  ['targetReason', 'Lý do chính khi không tới được', 'target_main_reason'],
] as const;

type Key = (typeof COLUMNS)[number][0];

/** Quote when needed; neutralise text a spreadsheet would run as a formula (=, +, -, @). */
function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const pct = (share: number) => Math.round(share * 1000) / 10;
const ms = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
const mbps = (bps: number | null) => (bps === null ? null : Math.round(bps / 1e5) / 10);

/**
 * The week's IPv6 report as CSV, one row per commune and target (a commune that checked no
 * target gets one row with the target empty). UTF-8 with a byte-order mark so spreadsheet
 * programs show Vietnamese correctly; CRLF line ends (RFC 4180).
 */
export function ipv6Csv(report: Ipv6WeekReport, lang: Lang = 'vi'): string {
  const yes = lang === 'vi' ? 'có' : 'yes';
  const no = lang === 'vi' ? 'không' : 'no';
  const yn = (v: boolean | null) => (v === null ? null : v ? yes : no);
  const lines = [COLUMNS.map((c) => cell(lang === 'vi' ? c[1] : c[2])).join(',')];
  for (const c of report.communes) {
    const base: Partial<Record<Key, string | number | null>> = {
      week: report.week,
      communeCode: c.code,
      communeName: c.name,
      districtCode: c.districtCode,
      districtName: c.districtName,
      results: c.results,
      ipv6Present: yn(c.ipv6Present),
      ipv6PresentPct: pct(c.ipv6PresentShare),
      v4ConnectMs: ms(c.v4ConnectMedianMs),
      v6ConnectMs: ms(c.v6ConnectMedianMs),
      v4DownloadMbps: mbps(c.speed.v4DownloadMedianBps),
      v6DownloadMbps: mbps(c.speed.v6DownloadMedianBps),
    };
    const rows =
      c.targets.length === 0
        ? [base]
        : c.targets.map((t) => ({
            ...base,
            target: t.name,
            targetAaaa: yn(t.aaaa),
            targetV6: yn(t.v6Reachable),
            targetV6Pct: pct(t.v6OkShare),
            targetReason: t.topCode,
          }));
    for (const r of rows) lines.push(COLUMNS.map(([k]) => cell(r[k])).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
