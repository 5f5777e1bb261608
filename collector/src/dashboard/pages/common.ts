import {
  type AccessType,
  type CollectorConfig,
  dateOfDay,
  HatangError,
  type Period,
  parsePeriod,
  periodOf,
  shiftPeriod,
} from '@hatang/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Scope } from '../../geography/tree.js';
import type { HeadlineTrend, HeadlineUnitRow, UnitStatsRow } from '../../stats/service.js';
import type { UnitLevel } from '../../storage/units.js';
import type { FigureCache } from '../cache.js';
import { mbps } from '../format.js';
import { html, jsonAttr, type SafeHtml } from '../html.js';
import type { MsgKey, Translate } from '../i18n.js';
import { type PageContext, withQuery } from '../layout.js';
import type { SessionUser } from '../sessions.js';
import type { Cell } from '../table.js';

/** What every page module gets. */
export interface PageDeps {
  app: FastifyInstance;
  config: CollectorConfig;
  now: () => number;
  /** Figures computed once and served for dashboard.cacheSeconds (cache.ts). */
  cache: FigureCache;
}

/**
 * A week's headline figures (median, target, samples, change) of every unit of `level` under
 * `parent` (app.stats.headlineUnits: what the tables and KPIs of districts and communes show),
 * through the figure cache.
 */
export function unitsOf(deps: PageDeps, level: UnitLevel, parent: string, week: string): HeadlineUnitRow[] {
  return deps.cache.get(`units:${level}:${parent}:${week}`, () =>
    deps.app.stats.headlineUnits({ period: 'week', at: week, level, parent }),
  ).value.rows;
}

/** A week's full statistics (upload and latency too) of the units of `level` under `parent` (app.stats.units). */
export function fullUnitsOf(deps: PageDeps, level: UnitLevel, parent: string, week: string): UnitStatsRow[] {
  return deps.cache.get(`full:${level}:${parent}:${week}`, () =>
    deps.app.stats.units({ period: 'week', at: week, level, parent }),
  ).value.rows;
}

/**
 * A unit's headline figures (median, target, samples) over the last dashboard.trendWeeks weeks up
 * to `week` (app.stats.headlineTrend: what the charts, trend tables and "weeks short" show), through
 * the figure cache.
 */
export function trendOf(deps: PageDeps, unit: string, week: string): HeadlineTrend {
  const count = deps.config.dashboard.trendWeeks;
  return deps.cache.get(`trend:${unit}:${week}:${count}`, () => deps.app.stats.headlineTrend({ unit, count, at: week }))
    .value;
}

/**
 * trendOf for several units of one page (a province's districts, a district's communes): those
 * not in the figure cache are computed together (app.stats.headlineTrends).
 */
export function trendsOf(deps: PageDeps, units: readonly string[], week: string): Map<string, HeadlineTrend> {
  const count = deps.config.dashboard.trendWeeks;
  let batch: Map<string, HeadlineTrend> | undefined;
  const out = new Map<string, HeadlineTrend>();
  for (const unit of units) {
    const trend = deps.cache.get(`trend:${unit}:${week}:${count}`, () => {
      batch ??= deps.app.stats.headlineTrends({ units, count, at: week });
      return batch.get(unit) as HeadlineTrend;
    }).value;
    out.set(unit, trend);
  }
  return out;
}

export const ACCESS: readonly AccessType[] = ['fixed', 'mobile'];
export const ACCESS_COLOR: Record<AccessType, string> = { fixed: '#1f6fb2', mobile: '#d9730d' };

/** The units a dashboard user may read: admins and province-wide viewers everything. */
export function scopeOf(user: SessionUser): Scope {
  return user.role === 'admin' || user.scopeUnit === null ? 'all' : { units: [user.scopeUnit] };
}

export function forbidden(): HatangError {
  return new HatangError('HATANG_ERR_FORBIDDEN', 'this account may not read that unit');
}

export function notFound(what: string): HatangError {
  return new HatangError('HATANG_ERR_NOT_FOUND', `no ${what}`);
}

/** The week the page shows: ?week=YYYY-Www, default the current week (Vietnam time). */
export function selectedWeek(req: FastifyRequest, now: number): { period: Period; current: Period } {
  const current = periodOf('week', now);
  const q = (req.query as Record<string, unknown>).week;
  if (q === undefined || q === '') return { period: current, current };
  if (typeof q !== 'string' || !/^\d{4}-W\d{2}$/.test(q)) throw notFound(`week ${String(q).slice(0, 20)}`);
  let period: Period;
  try {
    period = parsePeriod('week', q);
  } catch {
    throw notFound(`week ${q}`);
  }
  if (period.startMs > current.startMs) throw notFound(`week ${q} (in the future)`);
  return { period, current };
}

export function weekNumber(p: { key: string }): { week: number; year: number } {
  const m = /^(\d{4})-W(\d{2})$/.exec(p.key);
  return { year: Number(m?.[1]), week: Number(m?.[2]) };
}

function dm(day: number): string {
  const d = dateOfDay(day);
  return `${String(d.day).padStart(2, '0')}/${String(d.month).padStart(2, '0')}`;
}

function dmy(day: number): string {
  const d = dateOfDay(day);
  return `${dm(day)}/${d.year}`;
}

/** "Tuần 11/2025" */
export function weekLabel(t: Translate, p: { key: string }): string {
  return t('week.label', weekNumber(p));
}

/** "10/03 – 16/03/2025" */
export function weekRange(t: Translate, p: Period): string {
  return t('week.range', { from: dm(p.firstDay), to: dmy(p.lastDay) });
}

/** ‹ previous · Tuần 11/2025 · next › */
export function weekNav(ctx: PageContext, p: Period, current: Period): SafeHtml {
  const { t } = ctx;
  const prev = shiftPeriod(p, -1);
  const next = shiftPeriod(p, 1);
  const isCurrent = p.key === current.key;
  return html`<nav class="week-nav" aria-label="${weekLabel(t, p)}">
    <a href="${withQuery(ctx.url, { week: prev.key, sort: undefined, format: undefined, table: undefined })}" rel="prev">${t('week.prev')}</a>
    <span class="wk" title="${weekRange(t, p)}">${weekLabel(t, p)} <small>(${weekRange(t, p)})</small></span>
    ${
      isCurrent
        ? html`<span class="off">${t('week.next')}</span>`
        : html`<a href="${withQuery(ctx.url, { week: next.key === current.key ? undefined : next.key, sort: undefined })}" rel="next">${t('week.next')}</a>`
    }
  </nav>`;
}

export function csvLink(ctx: PageContext, table?: string): SafeHtml {
  return html`<a class="button" href="${withQuery(ctx.url, { format: 'csv', table, lang: undefined })}" download data-csv="${table ?? ''}">↓ ${ctx.t('csv.download')}</a>`;
}

/** A partial-week note for the current week. */
export function partialNote(ctx: PageContext, p: Period, current: Period): SafeHtml | string {
  if (p.key !== current.key) return '';
  return html`<p class="note">${ctx.t('week.partial', { time: formatTimeShort(ctx.now) })}</p>`;
}

function formatTimeShort(ms: number): string {
  const d = new Date(ms + 7 * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())} ${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`;
}

export type Assessment = 'met' | 'short' | 'nodata';

export function assessment(row: { attained: boolean | null } | undefined): Assessment {
  if (!row || row.attained === null) return 'nodata';
  return row.attained ? 'met' : 'short';
}

const ASSESS_KEY: Record<Assessment, MsgKey> = { met: 'status.met', short: 'status.short', nodata: 'status.nodata' };

export function statusCell(t: Translate, row: { attained: boolean | null } | undefined): Cell {
  const a = assessment(row);
  return { value: null, text: t(ASSESS_KEY[a]), badge: a };
}

export function badge(t: Translate, row: { attained: boolean | null } | undefined): SafeHtml {
  const a = assessment(row);
  return html`<span class="badge ${a}">${t(ASSESS_KEY[a])}</span>`;
}

/** Median download, Mbit/s, coloured by attainment; a "few tests" mark when below the sample floor. */
export function medianCell(t: Translate, row: HeadlineUnitRow | undefined): Cell {
  if (!row || row.download.median === null) return { value: null };
  const a = assessment(row);
  return {
    value: mbps(row.download.median),
    cls: a === 'nodata' ? undefined : a,
    ...(row.lowSamples
      ? {
          extra: html`<span class="flag" title="${t('flag.lowSamples.help', { n: row.samples, floor: row.sampleFloor })}">*</span>`,
        }
      : {}),
  } as Cell;
}

export function percentOfTarget(row: HeadlineUnitRow | undefined): number | null {
  // Floored, so a median just under the target never reads as 100 %.
  return row?.attainment === null || row?.attainment === undefined ? null : Math.floor(row.attainment * 1000) / 10;
}

/** Target minus median, Mbit/s; 0 when at or above target; null without data or target. */
export function shortfall(
  row: { download: { median: number | null }; target: number | null } | undefined,
): number | null {
  if (!row || row.download.median === null || row.target === null) return null;
  return Math.max(0, mbps(row.target) - mbps(row.download.median));
}

/** Consecutive weeks, ending with the last, in which the unit had data and missed the target. */
export function weeksShort(points: ReadonlyArray<{ attained: boolean | null }>): number {
  let n = 0;
  for (let i = points.length - 1; i >= 0; i--) {
    if (points[i]?.attained === false) n++;
    else break;
  }
  return n;
}

export interface ChartSeries {
  label: string;
  color: string;
  values: Array<number | null>;
  dash?: boolean;
}

/** Chart JSON for app.js: medians per week for each access type, and each target as a dashed line. */
export function trendChart(
  t: Translate,
  trend: HeadlineTrend,
): { labels: string[]; unit: string; xLabel: string; series: ChartSeries[] } {
  const first = trend.series[0];
  const labels = (first?.points ?? []).map((p) => p.period.firstDay.slice(8, 10) + '/' + p.period.firstDay.slice(5, 7));
  const series: ChartSeries[] = [];
  for (const s of trend.series) {
    series.push({
      label: t(`access.${s.access}`),
      color: ACCESS_COLOR[s.access],
      values: s.points.map((p) => (p.download.median === null ? null : mbps(p.download.median))),
    });
  }
  for (const s of trend.series) {
    series.push({
      label: t('chart.target', { access: t(`access.${s.access}`).toLowerCase() }),
      color: ACCESS_COLOR[s.access],
      dash: true,
      values: s.points.map((p) => (p.target === null ? null : mbps(p.target))),
    });
  }
  return { labels, unit: 'Mbit/s', xLabel: t('col.week'), series };
}

export function chartBlock(t: Translate, trend: HeadlineTrend, title?: string): SafeHtml {
  const data = trendChart(t, trend);
  // A printed page has no interactive legend: a static key names the lines.
  const key = trend.series.map(
    (s) =>
      html`<span class="k k-${s.access}">${t(`access.${s.access}`)}</span><span class="k k-${s.access} k-target">${t('chart.target', { access: t(`access.${s.access}`).toLowerCase() })}</span>`,
  );
  return html`<figure class="chart-fig"><div class="chart" role="img" aria-label="${title ?? t('chart.title')}" data-chart="${jsonAttr(data)}"></div><figcaption class="legend-key print-only">${key}</figcaption></figure>`;
}

export function sparkline(
  points: ReadonlyArray<{ download: { median: number | null }; target: number | null }>,
  access: AccessType,
  label: string,
): SafeHtml {
  const values = points.map((p) => (p.download.median === null ? null : mbps(p.download.median)));
  const target = points.at(-1)?.target;
  return html`<span class="spark" role="img" aria-label="${label}" data-spark="${jsonAttr({ values, target: target === null || target === undefined ? null : mbps(target), color: ACCESS_COLOR[access] })}"></span>`;
}

/** Rows of a units report by unit code and access type. */
export function byUnit<R extends HeadlineUnitRow>(rows: readonly R[]): Map<string, Partial<Record<AccessType, R>>> {
  const out = new Map<string, Partial<Record<AccessType, R>>>();
  for (const r of rows) {
    let m = out.get(r.unit.code);
    if (!m) {
      m = {};
      out.set(r.unit.code, m);
    }
    m[r.access] = r;
  }
  return out;
}

export interface Kpi {
  label: string;
  value: string;
  unit?: string;
  sub?: SafeHtml | string;
  cls?: string;
  id?: string;
}

export function kpis(list: Kpi[]): SafeHtml {
  return html`<section class="kpis">${list.map(
    (k) =>
      html`<div class="kpi ${k.cls ?? ''}"${k.id ? html` data-kpi="${k.id}"` : ''}><div class="k-label">${k.label}</div><div class="k-value">${k.value}${k.unit ? html`<small>${k.unit}</small>` : ''}</div>${k.sub ? html`<div class="k-sub">${k.sub}</div>` : ''}</div>`,
  )}</section>`;
}

export function panel(
  title: string,
  body: SafeHtml,
  opts: { sub?: string; actions?: SafeHtml; id?: string } = {},
): SafeHtml {
  return html`<section class="panel"${opts.id ? html` id="${opts.id}"` : ''}><header><div><h2>${title}</h2>${opts.sub ? html`<div class="sub">${opts.sub}</div>` : ''}</div>${opts.actions ?? ''}</header>${body}</section>`;
}

/** Sort state from ?sort=col&dir=asc|desc, limited to the given columns. */
export function sortOf(
  req: FastifyRequest,
  allowed: readonly string[],
  fallback: { column: string; dir: 'asc' | 'desc' },
): { column: string; dir: 'asc' | 'desc' } {
  const q = req.query as Record<string, unknown>;
  const column = typeof q.sort === 'string' && allowed.includes(q.sort) ? q.sort : fallback.column;
  const dir = q.dir === 'asc' || q.dir === 'desc' ? q.dir : column === fallback.column ? fallback.dir : 'desc';
  return { column, dir };
}
