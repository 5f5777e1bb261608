import type { AccessType } from '@hatang/shared';
import type { FastifyRequest } from 'fastify';
import type { PageResult } from '../../routes/dashboard.js';
import type { HeadlineTrend, HeadlineUnitRow } from '../../stats/service.js';
import { formatNumber, mbps } from '../format.js';
import { html } from '../html.js';
import type { PageContext } from '../layout.js';
import type { SessionUser } from '../sessions.js';
import { type Column, renderTable, type Table, tableCsv } from '../table.js';
import { agentRows } from './agents.js';
import {
  ACCESS,
  assessment,
  badge,
  byUnit,
  csvLink,
  forbidden,
  type Kpi,
  kpis,
  medianCell,
  type PageDeps,
  panel,
  partialNote,
  percentOfTarget,
  scopeOf,
  selectedWeek,
  sparkline,
  statusCell,
  trendsOf,
  unitsOf,
  weekLabel,
  weekNav,
  weekRange,
} from './common.js';

export interface DistrictRow {
  code: string;
  name: string;
  stats: Partial<Record<AccessType, HeadlineUnitRow>>;
  trend: Partial<Record<AccessType, HeadlineTrend['series'][number]['points']>>;
  communes: number;
  communesShort: number;
}

/** Province code: the one unit of level province. */
export function provinceCode(deps: PageDeps): string {
  const p = deps.app.stats
    .tree()
    .all()
    .find((u) => u.level === 'province' && u.merged_into === null);
  if (!p) throw new Error('no province in the units table; import units first (hatang-collector units import)');
  return p.code;
}

/** District rows of the province for a week: figures, trend, communes short. */
export function districtRows(deps: PageDeps, province: string, weekKey: string): DistrictRow[] {
  const districts = unitsOf(deps, 'district', province, weekKey);
  const communes = unitsOf(deps, 'commune', province, weekKey);
  const tree = deps.app.stats.tree();
  const short = new Map<string, number>();
  const count = new Map<string, number>();
  for (const [code, m] of byUnit(communes)) {
    const district = tree.ancestors(code).find((c) => tree.get(c)?.level === 'district');
    if (!district) continue;
    count.set(district, (count.get(district) ?? 0) + 1);
    if (ACCESS.some((a) => m[a]?.attained === false)) short.set(district, (short.get(district) ?? 0) + 1);
  }
  const rows = byUnit(districts);
  const trends = trendsOf(deps, [...rows.keys()], weekKey);
  return [...rows].map(([code, m]) => {
    const trend = trends.get(code) as HeadlineTrend;
    const first = m.fixed ?? m.mobile;
    return {
      code,
      name: first?.unit.name ?? code,
      stats: m,
      trend: Object.fromEntries(trend.series.map((s) => [s.access, s.points])),
      communes: count.get(code) ?? 0,
      communesShort: short.get(code) ?? 0,
    };
  });
}

export function districtColumns(ctx: PageContext, withSpark: boolean): Column<DistrictRow>[] {
  const { t } = ctx;
  const cols: Column<DistrictRow>[] = [
    {
      id: 'district',
      label: t('col.district'),
      kind: 'text',
      cell: (r) => ({ value: r.name, href: `/district/${encodeURIComponent(r.code)}` }),
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
        cell: (r) => medianCell(t, r.stats[a]),
      },
      {
        id: `${a}-pct`,
        group,
        label: t('col.ofTarget'),
        kind: 'percent',
        digits: 1,
        cell: (r) => percentOfTarget(r.stats[a]),
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
    if (withSpark) {
      cols.push({
        id: `${a}-trend`,
        group,
        label: t('col.trend'),
        kind: 'text',
        cell: () => null,
        visual: (r) => sparkline(r.trend[a] ?? [], a, `${t('col.trend')} ${group} ${r.name}`),
      });
    }
  }
  cols.push(
    { id: 'short', label: t('col.communesShort'), kind: 'number', cell: (r) => r.communesShort },
    {
      id: 'samples',
      label: t('col.samples'),
      kind: 'number',
      cell: (r) => (r.stats.fixed?.samples ?? 0) + (r.stats.mobile?.samples ?? 0),
    },
  );
  return cols;
}

export function provinceKpis(
  ctx: PageContext,
  rows: Partial<Record<AccessType, HeadlineUnitRow>>,
  extra: Kpi[],
): Kpi[] {
  const { t } = ctx;
  const out: Kpi[] = [];
  for (const a of ACCESS) {
    const r = rows[a];
    const med = r?.download.median;
    out.push({
      id: `median-${a}`,
      label: t(`access.${a}.long`),
      value: med === null || med === undefined ? '—' : formatNumber(mbps(med), ctx.lang, 1),
      unit: 'Mbit/s',
      cls: assessment(r) === 'met' ? 'met' : assessment(r) === 'short' ? 'short' : '',
      sub: html`${badge(t, r)}${
        r?.attainment !== null && r?.attainment !== undefined && r.target !== null
          ? html`<span>${t('kpi.ofTarget', { pct: `${formatNumber(Math.floor(r.attainment * 1000) / 10, ctx.lang, 1)} %`, target: formatNumber(mbps(r.target), ctx.lang, 0) })}</span>`
          : ''
      }`,
    });
  }
  return out.concat(extra);
}

export function overviewPage(deps: PageDeps) {
  return (req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const scope = scopeOf(user);
    const province = provinceCode(deps);
    const tree = deps.app.stats.tree();
    if (!tree.canRead(scope, province)) throw forbidden();
    const { period, current } = selectedWeek(req, ctx.now);
    const rows = districtRows(deps, province, period.key);
    const prov = byUnit(unitsOf(deps, 'province', province, period.key)).get(province);
    const communeRows = byUnit(unitsOf(deps, 'commune', province, period.key));
    const met = (a: AccessType) => [...communeRows.values()].filter((m) => m[a]?.attained === true).length;
    const withData = (a: AccessType) =>
      [...communeRows.values()].filter((m) => m[a]?.attained !== null && m[a] !== undefined).length;
    const agents = agentRows(deps, scope, ctx.now);
    const silent = agents.filter((a) => a.status === 'silent').length;
    const active = agents.filter((a) => a.status !== 'revoked');
    const table: Table<DistrictRow> = {
      id: 'districts',
      columns: districtColumns(ctx, true),
      rows: rows,
      empty: t('nodata'),
    };
    const kpiList = provinceKpis(ctx, prov ?? {}, [
      {
        id: 'communes-met',
        label: t('kpi.communesMet'),
        value: `${met('fixed')}/${withData('fixed')}`,
        sub: html`<span>${t('kpi.communesMetMobile')}: ${met('mobile')}/${withData('mobile')}</span>`,
      },
      {
        id: 'agents',
        label: t('kpi.agentsOnline'),
        value: `${active.length - silent}/${active.length}`,
        cls: silent ? 'warn' : '',
        sub: silent ? html`<a href="/agents">${t('kpi.silent', { n: silent })}</a>` : '',
      },
    ]);
    const name = prov?.fixed?.unit.name ?? tree.get(province)?.name ?? province;
    const lowFloor = rows.find((r) => r.stats.fixed)?.stats.fixed?.sampleFloor;
    return {
      csvName: `overview-${period.key}`,
      tables: { districts: () => tableCsv(table) },
      parts: {
        id: 'overview',
        nav: 'overview',
        title: t('overview.title', { name }),
        lead: t('overview.lead'),
        crumbs: [{ label: name }],
        actions: html`${weekNav(ctx, period, current)}${csvLink(ctx, 'districts')}`,
        body: html`${partialNote(ctx, period, current)}${kpis(kpiList)}${panel(t('overview.districts'), renderTable(table, { lang: ctx.lang }), { sub: `${weekLabel(t, period)} · ${weekRange(t, period)}` })}${
          lowFloor ? html`<p class="note foot-note">${t('flag.lowSamples.note', { floor: lowFloor })}</p>` : ''
        }`,
      },
    };
  };
}
