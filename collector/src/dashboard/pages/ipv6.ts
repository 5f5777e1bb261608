import type { FastifyRequest } from 'fastify';
import type { Ipv6WeekReport } from '../../ipv6/query.js';
import type { PageResult } from '../../routes/dashboard.js';
import { html } from '../html.js';
import type { PageContext } from '../layout.js';
import type { SessionUser } from '../sessions.js';
import { type Column, renderTable, type Table, tableCsv } from '../table.js';
import {
  csvLink,
  type PageDeps,
  panel,
  partialNote,
  scopeOf,
  selectedWeek,
  weekLabel,
  weekNav,
  weekRange,
} from './common.js';
import { communeIpv6, scopedIpv6Report } from './ipv6-data.js';
import { provinceCode } from './overview.js';

type CommuneRow = Ipv6WeekReport['communes'][number];
type TargetRow = {
  name: string;
  reach: number;
  checked: number;
  share: number | null;
  v6Ms: number | null;
  v4Ms: number | null;
  code: string | null;
};

export function ipv6Page(deps: PageDeps) {
  return (req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const scope = scopeOf(user);
    const { period, current } = selectedWeek(req, ctx.now);
    const tree = deps.app.stats.tree();
    const province = provinceCode(deps);
    const report = scopedIpv6Report(deps, scope, period.key);
    const communes = [...report.communes].sort(
      (a, b) =>
        (a.districtName ?? '').localeCompare(b.districtName ?? '', 'vi') ||
        (a.name ?? a.code).localeCompare(b.name ?? b.code, 'vi'),
    );
    const targets = report.targets.map((x) => x.name).sort();
    const cols: Column<CommuneRow>[] = [
      {
        id: 'commune',
        label: t('col.commune'),
        kind: 'text',
        cell: (r) => ({ value: r.name ?? r.code, href: `/commune/${encodeURIComponent(r.code)}` }),
      },
      { id: 'district', label: t('col.district'), kind: 'text', cell: (r) => r.districtName },
      {
        id: 'host',
        label: t('col.ipv6Host'),
        kind: 'text',
        align: 'center',
        cell: (r) => ({
          value: null,
          text: r.ipv6Present ? t('ipv6.yes') : t('ipv6.no'),
          badge: r.ipv6Present ? 'met' : 'short',
        }),
      },
      ...targets.map(
        (name): Column<CommuneRow> => ({
          id: `t-${name}`,
          label: name,
          kind: 'text',
          align: 'center',
          cell: (r) => {
            const v = communeIpv6(report, r.code).targets.find((x) => x.name === name);
            if (!v) return { value: null, text: '—' };
            return {
              value: null,
              text: v.code ? `${t(`ipv6.${v.status}`)} (${v.code})` : t(`ipv6.${v.status}`),
              badge: v.status === 'pass' ? 'met' : 'short',
            };
          },
        }),
      ),
    ];
    const matrix: Table<CommuneRow> = { id: 'matrix', columns: cols, rows: communes, empty: t('ipv6.unavailable') };
    const targetRows: TargetRow[] = [
      {
        name: t('col.ipv6Host'),
        reach: report.communesIpv6Present,
        checked: report.communesReporting,
        share: report.shareIpv6Present,
        v6Ms: null,
        v4Ms: null,
        code: null,
      },
      ...report.targets.map((x) => ({
        name: x.name,
        reach: x.communesV6,
        checked: x.communesChecked,
        share: x.shareV6,
        v6Ms: x.v6ConnectMedianMs,
        v4Ms: x.v4ConnectMedianMs,
        code: x.failCodes[0]?.code ?? null,
      })),
    ];
    const byTarget: Table<TargetRow> = {
      id: 'targets',
      rows: report.communesReporting ? targetRows : [],
      empty: t('ipv6.unavailable'),
      columns: [
        { id: 'target', label: t('col.target.name'), kind: 'text', cell: (r) => r.name },
        { id: 'reach', label: t('col.ipv6Share'), kind: 'number', cell: (r) => r.reach },
        { id: 'checked', label: t('col.checked'), kind: 'number', cell: (r) => r.checked },
        {
          id: 'share',
          label: t('col.share'),
          kind: 'percent',
          digits: 0,
          cell: (r) =>
            r.share === null
              ? null
              : { value: r.share * 100, cls: r.share >= 0.999 ? 'met' : r.share > 0 ? 'warn' : 'short' },
        },
        { id: 'v6', label: t('col.v6ms'), kind: 'number', digits: 0, cell: (r) => r.v6Ms },
        { id: 'v4', label: t('col.v4ms'), kind: 'number', digits: 0, cell: (r) => r.v4Ms },
        { id: 'code', label: t('col.errorCode'), kind: 'text', cell: (r) => r.code },
      ],
    };
    const provName = tree.get(province)?.name ?? province;
    return {
      csvName: `ipv6-${period.key}`,
      tables: { matrix: () => tableCsv(matrix), targets: () => tableCsv(byTarget) },
      parts: {
        id: 'ipv6',
        nav: 'ipv6',
        title: t('ipv6.title'),
        lead: t('ipv6.lead'),
        crumbs: [
          ...(tree.canRead(scope, province) ? [{ label: provName, href: '/' }] : []),
          { label: t('ipv6.title') },
        ],
        actions: html`${weekNav(ctx, period, current)}${csvLink(ctx, 'matrix')}`,
        body: html`${partialNote(ctx, period, current)}${panel(
          t('ipv6.targets'),
          renderTable(byTarget, { lang: ctx.lang }),
          {
            actions: csvLink(ctx, 'targets'),
            sub: `${weekLabel(t, period)} · ${weekRange(t, period)}`,
          },
        )}${panel(t('ipv6.matrix'), renderTable(matrix, { lang: ctx.lang }))}`,
      },
    };
  };
}
