import type { AccessType } from '@hatang/shared';
import type { FastifyRequest } from 'fastify';
import type { PageResult } from '../../routes/dashboard.js';
import type { HeadlineTrend, HeadlineUnitRow } from '../../stats/service.js';
import { mbps } from '../format.js';
import { html, type SafeHtml } from '../html.js';
import type { PageContext } from '../layout.js';
import { withQuery } from '../layout.js';
import type { SessionUser } from '../sessions.js';
import { type Column, renderTable, type SortState, type Table, tableCsv } from '../table.js';
import { agentRows } from './agents.js';
import {
  ACCESS,
  byUnit,
  chartBlock,
  csvLink,
  forbidden,
  kpis,
  medianCell,
  notFound,
  type PageDeps,
  panel,
  partialNote,
  scopeOf,
  selectedWeek,
  shortfall,
  sortOf,
  statusCell,
  trendOf,
  trendsOf,
  unitsOf,
  weekLabel,
  weekNav,
  weekRange,
  weeksShort,
} from './common.js';
import { provinceCode, provinceKpis } from './overview.js';

export interface CommuneRow {
  code: string;
  name: string;
  stats: Partial<Record<AccessType, HeadlineUnitRow>>;
  weeksShort: Partial<Record<AccessType, number>>;
  agents: number;
}

/** Communes under `parent` for a week, with how many weeks in a row each has been short. */
export function communeRows(deps: PageDeps, parent: string, weekKey: string): CommuneRow[] {
  const report = unitsOf(deps, 'commune', parent, weekKey);
  // Agents (not revoked) per commune, counted by SQLite rather than reading every agent's row.
  const agentsPer = new Map(
    deps.app.db
      .prepare(
        'SELECT commune_code, count(*) FROM agents WHERE commune_code IS NOT NULL AND revoked_at IS NULL GROUP BY commune_code',
      )
      .raw()
      .all() as [string, number][],
  );
  const rows = byUnit(report);
  // Only a commune short this week has a streak; its trend says how long.
  const trends = trendsOf(
    deps,
    [...rows].filter(([, m]) => ACCESS.some((a) => m[a]?.attained === false)).map(([code]) => code),
    weekKey,
  );
  return [...rows].map(([code, m]) => {
    const short: Partial<Record<AccessType, number>> = {};
    const trend = trends.get(code);
    if (trend) {
      for (const s of trend.series) if (m[s.access]?.attained === false) short[s.access] = weeksShort(s.points);
    }
    for (const a of ACCESS) if (short[a] === undefined && m[a]?.attained === true) short[a] = 0;
    return {
      code,
      name: (m.fixed ?? m.mobile)?.unit.name ?? code,
      stats: m,
      weeksShort: short,
      agents: agentsPer.get(code) ?? 0,
    };
  });
}

export function communeColumns(ctx: PageContext, weeks: number): Column<CommuneRow>[] {
  const { t } = ctx;
  const cols: Column<CommuneRow>[] = [
    {
      id: 'commune',
      label: t('col.commune'),
      kind: 'text',
      sortable: true,
      cell: (r) => ({ value: r.name, href: `/commune/${encodeURIComponent(r.code)}` }),
    },
  ];
  for (const a of ACCESS) {
    const group = t(`access.${a}`);
    cols.push(
      {
        id: `${a}-median`,
        group,
        label: t('col.median'),
        kind: 'number',
        digits: 1,
        sortable: true,
        cell: (r) => medianCell(t, r.stats[a]),
      },
      {
        id: `${a}-shortfall`,
        group,
        label: t('col.shortfall'),
        kind: 'number',
        digits: 1,
        sortable: true,
        cell: (r) => {
          const v = shortfall(r.stats[a]);
          return { value: v, cls: v !== null && v > 0 ? 'short' : undefined };
        },
      },
      {
        id: `${a}-weeks`,
        group,
        label: t('col.weeksShort'),
        kind: 'number',
        sortable: true,
        cell: (r) => {
          const w = r.weeksShort[a];
          if (w === undefined) return null;
          return w >= weeks ? { value: w, text: `≥ ${w}` } : w;
        },
      },
      {
        id: `${a}-status`,
        group,
        label: t('col.status'),
        kind: 'text',
        align: 'center',
        cell: (r) => statusCell(t, r.stats[a]),
      },
    );
  }
  cols.push(
    {
      id: 'samples',
      label: t('col.samples'),
      kind: 'number',
      sortable: true,
      cell: (r) => (r.stats.fixed?.samples ?? 0) + (r.stats.mobile?.samples ?? 0),
    },
    { id: 'agents', label: t('col.agents'), kind: 'number', cell: (r) => r.agents },
  );
  return cols;
}

export const COMMUNE_SORTS = [
  'commune',
  'fixed-median',
  'fixed-shortfall',
  'fixed-weeks',
  'mobile-median',
  'mobile-shortfall',
  'mobile-weeks',
  'samples',
] as const;

export interface TrendRow {
  label: string;
  key: string;
  points: Partial<Record<AccessType, HeadlineTrend['series'][number]['points'][number]>>;
}

/** The chart's figures as a table (under the chart, and its CSV). */
export function trendTable(ctx: PageContext, trend: HeadlineTrend): Table<TrendRow> {
  const { t } = ctx;
  const first = trend.series[0]?.points ?? [];
  const rows: TrendRow[] = first.map((p, i) => ({
    key: p.period.key,
    label: weekLabel(t, p.period),
    points: Object.fromEntries(trend.series.map((s) => [s.access, s.points[i]])),
  }));
  const cols: Column<TrendRow>[] = [{ id: 'week', label: t('col.week'), kind: 'text', cell: (r) => r.label }];
  for (const a of ACCESS) {
    const group = t(`access.${a}`);
    cols.push(
      {
        id: `${a}-median`,
        group,
        label: t('col.median'),
        kind: 'number',
        digits: 1,
        cell: (r) => {
          const p = r.points[a];
          return p?.download.median === null || p?.download.median === undefined ? null : mbps(p.download.median);
        },
      },
      {
        id: `${a}-target`,
        group,
        label: t('col.target'),
        kind: 'number',
        digits: 0,
        cell: (r) =>
          r.points[a]?.target === null || r.points[a]?.target === undefined
            ? null
            : mbps(r.points[a]?.target as number),
      },
      { id: `${a}-samples`, group, label: t('col.samples'), kind: 'number', cell: (r) => r.points[a]?.samples ?? 0 },
    );
  }
  return { id: 'trend', columns: cols, rows, empty: t('nodata') };
}

export function chartPanel(
  ctx: PageContext,
  trend: HeadlineTrend,
  csvTable = 'trend',
): { html: SafeHtml; table: Table<TrendRow> } {
  const { t } = ctx;
  const table = trendTable(ctx, trend);
  return {
    table,
    html: panel(
      t('chart.title'),
      html`<div class="body">${chartBlock(t, trend)}<details class="chart-data"><summary>${t('chart.table')}</summary>${renderTable(table, { lang: ctx.lang })}</details></div>`,
      { actions: csvLink(ctx, csvTable), id: 'trend-panel' },
    ),
  };
}

export function districtPage(deps: PageDeps) {
  return (req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const code = (req.params as { code: string }).code;
    const tree = deps.app.stats.tree();
    const unit = tree.get(code);
    if (!unit) throw notFound(`unit ${code}`);
    const scope = scopeOf(user);
    if (!tree.canRead(scope, code)) throw forbidden();
    if (unit.level !== 'district') throw notFound(`district ${code}`);
    const { period, current } = selectedWeek(req, ctx.now);
    const weeks = deps.config.dashboard.trendWeeks;
    const rows = communeRows(deps, code, period.key);
    const sort: SortState = sortOf(req, COMMUNE_SORTS, { column: 'fixed-shortfall', dir: 'desc' });
    const table: Table<CommuneRow> = {
      id: 'communes',
      columns: communeColumns(ctx, weeks),
      rows,
      rowClass: (r) => (ACCESS.some((a) => r.stats[a]?.attained === false) ? 'is-short' : undefined),
      empty: t('nodata'),
    };
    const trend = trendOf(deps, code, period.key);
    const chart = chartPanel(ctx, trend);
    const own = byUnit(unitsOf(deps, 'district', code, period.key)).get(code);
    const agents = agentRows(deps, { units: [code] }, ctx.now);
    const silent = agents.filter((a) => a.status === 'silent').length;
    const shortCount = rows.filter((r) => ACCESS.some((a) => r.stats[a]?.attained === false)).length;
    const withData = rows.filter((r) => ACCESS.some((a) => (r.stats[a]?.samples ?? 0) > 0)).length;
    const province = provinceCode(deps);
    const crumbs = [
      ...(tree.canRead(scope, province) ? [{ label: tree.get(province)?.name ?? province, href: '/' }] : []),
      { label: unit.name },
    ];
    const sortHref = (column: string, dir: 'asc' | 'desc') =>
      withQuery(ctx.url, { sort: column, dir, format: undefined, table: undefined, lang: undefined });
    return {
      csvName: `district-${code}-${period.key}`,
      tables: { communes: () => tableCsv(table, sort), trend: () => tableCsv(chart.table) },
      parts: {
        id: 'district',
        nav: 'overview',
        title: unit.name,
        lead: t('district.lead'),
        crumbs,
        actions: html`${weekNav(ctx, period, current)}${csvLink(ctx, 'communes')}<a class="button" href="${withQuery('/report', { unit: code, week: period.key === current.key ? undefined : period.key })}">${t('nav.report')}</a>`,
        body: html`${partialNote(ctx, period, current)}${kpisFor(ctx, own, shortCount, withData, silent, agents.length)}${chart.html}${panel(
          t('district.communes'),
          renderTable(table, {
            lang: ctx.lang,
            sort,
            sortHref,
            sortLabel: (label) => t('sort.by', { column: label }),
          }),
          { sub: `${weekLabel(t, period)} · ${weekRange(t, period)}` },
        )}`,
      },
    };
  };
}

function kpisFor(
  ctx: PageContext,
  own: Partial<Record<AccessType, HeadlineUnitRow>> | undefined,
  shortCount: number,
  communes: number,
  silent: number,
  agents: number,
): SafeHtml {
  const { t } = ctx;
  const list = provinceKpis(ctx, own ?? {}, [
    {
      id: 'communes-short',
      label: t('col.communesShort'),
      value: `${shortCount}/${communes}`,
      cls: shortCount ? 'short' : 'met',
    },
    {
      id: 'agents',
      label: t('kpi.agentsOnline'),
      value: `${agents - silent}/${agents}`,
      cls: silent ? 'warn' : '',
      sub: silent ? html`<a href="/agents">${t('kpi.silent', { n: silent })}</a>` : '',
    },
  ]);
  return kpis(list);
}
