import type { FastifyRequest } from 'fastify';
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
import { type Ipv6Matrix, ipv6Matrix } from './ipv6-data.js';
import { provinceCode } from './overview.js';

type MatrixRow = Ipv6Matrix['communes'][number];

interface TargetRow {
  name: string;
  reach: number;
  checked: number;
}

const BADGE = { pass: 'met', slow: 'warn', fail: 'short', skip: 'nodata' } as const;

export function ipv6Page(deps: PageDeps) {
  return (req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const scope = scopeOf(user);
    const { period, current } = selectedWeek(req, ctx.now);
    const tree = deps.app.stats.tree();
    const province = provinceCode(deps);
    const communes = tree
      .unitsAt('commune', null, period)
      .filter((u) => tree.canRead(scope, u.code))
      .map((u) => ({ code: u.code, name: tree.stateAt(u.code, period.startMs)?.name ?? u.name }));
    const m = ipv6Matrix(deps, communes, Math.min(period.endMs, ctx.now + 1));
    m.communes.sort(
      (a, b) => (a.districtName ?? '').localeCompare(b.districtName ?? '', 'vi') || a.name.localeCompare(b.name, 'vi'),
    );
    const cols: Column<MatrixRow>[] = [
      {
        id: 'commune',
        label: t('col.commune'),
        kind: 'text',
        cell: (r) => ({ value: r.name, href: `/commune/${encodeURIComponent(r.code)}` }),
      },
      { id: 'district', label: t('col.district'), kind: 'text', cell: (r) => r.districtName },
      {
        id: 'host',
        label: t('col.ipv6Host'),
        kind: 'text',
        align: 'center',
        cell: (r) =>
          r.v6.host === null
            ? { value: null, text: t('status.nodata'), badge: 'nodata' }
            : { value: null, text: r.v6.host ? t('ipv6.yes') : t('ipv6.no'), badge: r.v6.host ? 'met' : 'short' },
      },
      ...m.targets.map(
        (name): Column<MatrixRow> => ({
          id: `t-${name}`,
          label: name,
          kind: 'text',
          align: 'center',
          cell: (r) => {
            const v = r.v6.targets.find((x) => x.name === name);
            if (!v) return { value: null, text: '—' };
            return {
              value: null,
              text: v.code ? `${t(`ipv6.${v.status}`)} (${v.code})` : t(`ipv6.${v.status}`),
              badge: BADGE[v.status],
            };
          },
        }),
      ),
    ];
    const matrix: Table<MatrixRow> = { id: 'matrix', columns: cols, rows: m.communes, empty: t('ipv6.unavailable') };
    const targetRows: TargetRow[] = m.targets.map((name) => {
      let reach = 0;
      let checked = 0;
      for (const c of m.communes) {
        const v = c.v6.targets.find((x) => x.name === name);
        if (!v || v.status === 'skip') {
          if (v) checked++;
          continue;
        }
        checked++;
        if (v.status === 'pass' || v.status === 'slow') reach++;
      }
      return { name, reach, checked };
    });
    const withHost = m.communes.filter((c) => c.v6.host !== null);
    const byTarget: Table<TargetRow> = {
      id: 'targets',
      rows: [
        { name: t('col.ipv6Host'), reach: withHost.filter((c) => c.v6.host).length, checked: withHost.length },
        ...targetRows,
      ],
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
          cell: (r) => (r.checked ? (100 * r.reach) / r.checked : null),
        },
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
        )}${panel(t('ipv6.matrix'), html`<div class="matrix-wrap">${renderTable(matrix, { lang: ctx.lang })}</div>`)}`,
      },
    };
  };
}
