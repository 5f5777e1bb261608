import type { AccessType } from '@hatang/shared';
import type { FastifyRequest } from 'fastify';
import type { PageResult } from '../../routes/dashboard.js';
import { formatDateTime, mbps } from '../format.js';
import { html, type SafeHtml } from '../html.js';
import type { PageContext } from '../layout.js';
import type { SessionUser } from '../sessions.js';
import { type Column, renderTable, type Table, tableCsv } from '../table.js';
import { agentRows, agentTable } from './agents.js';
import {
  ACCESS,
  byUnit,
  forbidden,
  kpis,
  notFound,
  type PageDeps,
  panel,
  scopeOf,
  selectedWeek,
  shortfall,
  trendOf,
  unitsOf,
  weekLabel,
  weekNav,
  weekNumber,
  weekRange,
} from './common.js';
import { type CommuneRow, chartPanel, communeColumns, communeRows } from './district.js';
import { type DistrictRow, districtColumns, districtRows, provinceCode, provinceKpis } from './overview.js';

interface ShortRow {
  code: string;
  name: string;
  district: string | null;
  access: AccessType;
  median: number | null;
  target: number | null;
  shortfall: number | null;
  weeks: number | undefined;
}

export function reportPage(deps: PageDeps) {
  return (req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const scope = scopeOf(user);
    const tree = deps.app.stats.tree();
    const province = provinceCode(deps);
    const q = req.query as Record<string, unknown>;
    const code = typeof q.unit === 'string' && q.unit !== '' ? q.unit : (user.scopeUnit ?? province);
    const unit = tree.get(code);
    if (!unit) throw notFound(`unit ${code}`);
    if (!tree.canRead(scope, code)) throw forbidden();
    if (unit.level === 'commune') throw notFound('report for a single commune (open the commune page)');
    const { period, current } = selectedWeek(req, ctx.now);
    const weeks = deps.config.dashboard.trendWeeks;
    const own = byUnit(unitsOf(deps, unit.level, code, period.key)).get(code) ?? {};
    const trend = trendOf(deps, code, period.key);
    const chart = chartPanel(ctx, trend);

    // Units table: districts of the province, or communes of a district.
    let unitsTable: Table<DistrictRow> | Table<CommuneRow>;
    let communes: CommuneRow[];
    if (unit.level === 'province') {
      unitsTable = {
        id: 'units',
        columns: districtColumns(ctx, false),
        rows: districtRows(deps, code, period.key),
        empty: t('nodata'),
      };
      communes = communeRows(deps, code, period.key);
    } else {
      communes = communeRows(deps, code, period.key);
      unitsTable = { id: 'units', columns: communeColumns(ctx, weeks), rows: communes, empty: t('nodata') };
    }
    const unitsSort = unit.level === 'province' ? undefined : ({ column: 'fixed-shortfall', dir: 'desc' } as const);

    const shortRows: ShortRow[] = [];
    for (const c of communes) {
      for (const a of ACCESS) {
        const s = c.stats[a];
        if (s?.attained !== false) continue;
        const d = tree.ancestors(c.code).find((x) => tree.get(x)?.level === 'district');
        shortRows.push({
          code: c.code,
          name: c.name,
          district: d ? (tree.get(d)?.name ?? d) : null,
          access: a,
          median: s.download.median === null ? null : mbps(s.download.median),
          target: s.target === null ? null : mbps(s.target),
          shortfall: shortfall(s),
          weeks: c.weeksShort[a],
        });
      }
    }
    shortRows.sort((x, y) => (y.weeks ?? 0) - (x.weeks ?? 0) || (y.shortfall ?? 0) - (x.shortfall ?? 0));
    const shortCols: Column<ShortRow>[] = [
      {
        id: 'commune',
        label: t('col.commune'),
        kind: 'text',
        cell: (r) => ({ value: r.name, href: `/commune/${encodeURIComponent(r.code)}` }),
      },
      ...(unit.level === 'province'
        ? [{ id: 'district', label: t('col.district'), kind: 'text' as const, cell: (r: ShortRow) => r.district }]
        : []),
      { id: 'access', label: t('col.access'), kind: 'text', cell: (r) => t(`access.${r.access}`) },
      {
        id: 'median',
        label: t('col.median'),
        kind: 'number',
        digits: 1,
        cell: (r) => ({ value: r.median, cls: 'short' }),
      },
      { id: 'target', label: t('col.target'), kind: 'number', digits: 0, cell: (r) => r.target },
      { id: 'shortfall', label: t('col.shortfall'), kind: 'number', digits: 1, cell: (r) => r.shortfall },
      {
        id: 'weeks',
        label: t('col.weeksShort'),
        kind: 'number',
        cell: (r) =>
          r.weeks === undefined ? null : r.weeks >= weeks ? { value: r.weeks, text: `≥ ${r.weeks}` } : r.weeks,
      },
    ];
    const shortT: Table<ShortRow> = { id: 'short', columns: shortCols, rows: shortRows, empty: t('none') };
    const silent = agentRows(deps, unit.level === 'province' ? scope : { units: [code] }, ctx.now).filter(
      (a) => a.status === 'silent',
    );
    const silentT = agentTable(ctx, silent, true, 'silent', { outbox: false });

    const { week, year } = weekNumber(period);
    const title = t('report.title', { week, year });
    const unitsHtml =
      unit.level === 'province'
        ? renderTable(unitsTable as Table<DistrictRow>, { lang: ctx.lang })
        : renderTable(unitsTable as Table<CommuneRow>, { lang: ctx.lang, sort: unitsSort });
    const shortCount = new Set(shortRows.map((r) => r.code)).size;
    return {
      csvName: `report-${code}-${period.key}`,
      tables: {
        units: () =>
          unit.level === 'province'
            ? tableCsv(unitsTable as Table<DistrictRow>)
            : tableCsv(unitsTable as Table<CommuneRow>, unitsSort),
        short: () => tableCsv(shortT),
        silent: () => tableCsv(silentT),
        trend: () => tableCsv(chart.table),
      },
      parts: {
        id: 'report',
        nav: 'report',
        title,
        lead: html`${t('report.scope', { name: unit.name })} · ${weekLabel(t, period)} (${weekRange(t, period)}) · ${t('footer.generated', { time: formatDateTime(ctx.now, ctx.lang) })}`,
        crumbs: [{ label: t('nav.report') }],
        actions: html`${weekNav(ctx, period, current)}<button type="button" class="primary" data-action="print">🖶 ${t('print.button')}</button>`,
        body: html`<h2 class="section">${t('report.summary')}</h2>${kpis(
          provinceKpis(ctx, own, [
            {
              id: 'communes-short',
              label: t('col.communesShort'),
              value: `${shortCount}/${communes.filter(hasData).length}`,
              cls: shortCount ? 'short' : 'met',
            },
            {
              id: 'silent',
              label: t('report.silent'),
              value: String(silent.length),
              cls: silent.length ? 'warn' : 'met',
            },
          ]),
        )}${chart.html}${panel(t('report.units'), unitsHtml, { actions: csvLinkTo(ctx, 'units') })}${panel(
          t('report.short'),
          renderTable(shortT, { lang: ctx.lang }),
          { actions: csvLinkTo(ctx, 'short') },
        )}${panel(t('report.silent'), renderTable(silentT, { lang: ctx.lang }), { actions: csvLinkTo(ctx, 'silent') })}<div class="sign"><div><p>${t('report.sign')}</p><p class="sign-space"></p></div></div>`,
      },
    };
  };
}

function hasData(c: CommuneRow): boolean {
  return ACCESS.some((a) => (c.stats[a]?.samples ?? 0) > 0);
}

function csvLinkTo(ctx: PageContext, table: string): SafeHtml {
  const u = new URL(ctx.url, 'http://local');
  u.searchParams.set('format', 'csv');
  u.searchParams.set('table', table);
  u.searchParams.delete('lang');
  return html`<a class="button no-print" href="${u.pathname}${u.search}" download data-csv="${table}">↓ ${ctx.t('csv.download')}</a>`;
}
