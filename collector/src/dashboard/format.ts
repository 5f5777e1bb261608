import { REPORT_TZ_OFFSET_MS } from '@hatang/shared';

/**
 * How figures read on the pages and in the CSV. Every figure is rounded once, here, so the page and
 * its CSV show the same number: the page in the reader's language (Vietnamese: 93,4), the CSV with
 * a dot (93.4), which every spreadsheet reads.
 */

export const LANGS = ['vi', 'en'] as const;
export type Lang = (typeof LANGS)[number];

const LOCALE: Record<Lang, string> = { vi: 'vi-VN', en: 'en-GB' };

export function isLang(v: unknown): v is Lang {
  return v === 'vi' || v === 'en';
}

const numberFormats = new Map<string, Intl.NumberFormat>();
function nf(lang: Lang, digits: number): Intl.NumberFormat {
  const k = `${lang}:${digits}`;
  let f = numberFormats.get(k);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE[lang], { minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormats.set(k, f);
  }
  return f;
}

/** Round half away from zero to `digits` decimals (what the page shows and the CSV holds). */
export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  const r = Math.sign(v) * Math.round(Math.abs(v) * f);
  return r / f || 0;
}

export function formatNumber(v: number, lang: Lang, digits = 0): string {
  return nf(lang, digits).format(round(v, digits));
}

/** Mbit/s from bits per second, rounded to one decimal: the dashboard's speed figure. */
export function mbps(bps: number): number {
  return round(bps / 1e6, 1);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Calendar fields in Vietnam time. Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving). */
function parts(ms: number): Record<'day' | 'month' | 'year' | 'hour' | 'minute', string> {
  const d = new Date(ms + REPORT_TZ_OFFSET_MS);
  return {
    day: pad2(d.getUTCDate()),
    month: pad2(d.getUTCMonth() + 1),
    year: String(d.getUTCFullYear()),
    hour: pad2(d.getUTCHours()),
    minute: pad2(d.getUTCMinutes()),
  };
}

/** "12/03/2025 14:05" in Vietnam time (both languages write the day first). */
export function formatDateTime(ms: number, _lang: Lang): string {
  const p = parts(ms);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}

/** "12/03/2025" in Vietnam time. */
export function formatDate(ms: number, _lang: Lang): string {
  const p = parts(ms);
  return `${p.day}/${p.month}/${p.year}`;
}

/** "2025-03-12 14:05" in Vietnam time, for CSV. */
export function csvDateTime(ms: number): string {
  const p = parts(ms);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

const relFormats = new Map<Lang, Intl.RelativeTimeFormat>();
/** "3 giờ trước" / "3 hours ago". */
export function formatAgo(ms: number, now: number, lang: Lang): string {
  let f = relFormats.get(lang);
  if (!f) {
    f = new Intl.RelativeTimeFormat(LOCALE[lang], { numeric: 'auto' });
    relFormats.set(lang, f);
  }
  const s = Math.round((ms - now) / 1000);
  const a = Math.abs(s);
  if (a < 60) return f.format(0, 'minute');
  if (a < 3600) return f.format(Math.round(s / 60), 'minute');
  if (a < 86_400 * 2) return f.format(Math.round(s / 3600), 'hour');
  return f.format(Math.round(s / 86_400), 'day');
}

const ageFormats = new Map<string, Intl.NumberFormat>();
/**
 * How long something has waited, as a duration: "12 phút" / "5 giờ" / "3 ngày" ("12 minutes" …).
 * Minutes below an hour (at least 1), hours below two days, then days; never negative.
 */
export function formatAge(ms: number, now: number, lang: Lang): string {
  const s = Math.max(0, (now - ms) / 1000);
  const [n, unit]: [number, string] =
    s < 3600
      ? [Math.max(1, Math.round(s / 60)), 'minute']
      : s < 86_400 * 2
        ? [Math.round(s / 3600), 'hour']
        : [Math.round(s / 86_400), 'day'];
  const k = `${lang}:${unit}`;
  let f = ageFormats.get(k);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE[lang], { style: 'unit', unit, unitDisplay: 'long' });
    ageFormats.set(k, f);
  }
  return f.format(n);
}
