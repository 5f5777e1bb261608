import { type AccessType, DASHBOARD_RECENT_TESTS, median } from '@hatang/shared';
import type { FastifyRequest } from 'fastify';
import type { PageResult } from '../../routes/dashboard.js';
import type { UnitStatsRow } from '../../stats/service.js';
import { formatNumber, mbps } from '../format.js';
import { html } from '../html.js';
import type { MsgKey } from '../i18n.js';
import type { PageContext } from '../layout.js';
import type { SessionUser } from '../sessions.js';
import { type Column, renderTable, type Table, tableCsv } from '../table.js';
import { agentRows, agentTable } from './agents.js';
import {
  ACCESS,
  byUnit,
  csvLink,
  forbidden,
  fullUnitsOf,
  type Kpi,
  kpis,
  notFound,
  type PageDeps,
  panel,
  partialNote,
  scopeOf,
  selectedWeek,
  trendOf,
  weekLabel,
  weekNav,
  weekRange,
} from './common.js';
import { chartPanel } from './district.js';
import { communeIpv6, type Ipv6TargetView, scopedIpv6Report } from './ipv6-data.js';
import { provinceCode, provinceKpis } from './overview.js';

interface RecentRow {
  startedAt: number;
  agent: string;
  kind: string;
  status: string;
  access: AccessType;
  family: number;
  download: number | null;
  upload: number | null;
  latency: number | null;
}

interface LatencyRow {
  access: AccessType;
  latency: number | null;
  jitter: number | null;
  loss: number | null;
  upload: number | null;
  samples: number;
}

const RESULT_KEY: Record<string, MsgKey> = { ok: 'result.ok', partial: 'result.partial', error: 'result.error' };
const KIND_KEY: Record<string, MsgKey> = {
  speed: 'kind.speed',
  latency: 'kind.latency',
  udp: 'kind.udp',
  ipv6: 'kind.ipv6',
  ndt7: 'kind.ndt7',
};

function medianOrNull(v: number[]): number | null {
  return v.length ? median(v) : null;
}

export function communePage(deps: PageDeps) {
  const db = deps.app.db;
  const recentStmt = db.prepare(
    `SELECT started_at, kind, status, access, family, download_bps, upload_bps, latency_ms
       FROM results WHERE agent_id = ? ORDER BY started_at DESC LIMIT ?`,
  );
  const weekStmt = db.prepare(
    `SELECT kind, latency_ms, jitter_ms, loss_pct FROM results
      WHERE agent_id = ? AND started_at >= ? AND started_at < ? AND kind IN ('latency', 'udp') AND status = 'ok'`,
  );

  return (req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const code = (req.params as { code: string }).code;
    const tree = deps.app.stats.tree();
    const unit = tree.get(code);
    if (!unit) throw notFound(`unit ${code}`);
    const scope = scopeOf(user);
    if (!tree.canRead(scope, code)) throw forbidden();
    if (unit.level !== 'commune') throw notFound(`commune ${code}`);
    const { period, current } = selectedWeek(req, ctx.now);
    const own: Partial<Record<AccessType, UnitStatsRow>> =
      byUnit(fullUnitsOf(deps, 'commune', code, period.key)).get(code) ?? {};
    const trend = trendOf(deps, code, period.key);
    const chart = chartPanel(ctx, trend);
    const agents = agentRows(deps, scope, ctx.now, code);
    const agentsT = agentTable(ctx, agents, false);

    // Recent tests of every agent here, newest first.
    const recent: RecentRow[] = [];
    for (const a of agents) {
      for (const r of recentStmt.all(a.id, DASHBOARD_RECENT_TESTS) as Array<Record<string, unknown>>) {
        recent.push({
          startedAt: r.started_at as number,
          agent: a.name,
          kind: r.kind as string,
          status: r.status as string,
          access: r.access as AccessType,
          family: r.family as number,
          download: r.download_bps as number | null,
          upload: r.upload_bps as number | null,
          latency: r.latency_ms as number | null,
        });
      }
    }
    recent.sort((x, y) => y.startedAt - x.startedAt);
    recent.length = Math.min(recent.length, DASHBOARD_RECENT_TESTS);
    const recentCols: Column<RecentRow>[] = [
      { id: 'time', label: t('col.time'), kind: 'datetime', cell: (r) => r.startedAt },
      { id: 'agent', label: t('col.agent'), kind: 'text', cell: (r) => r.agent },
      {
        id: 'kind',
        label: t('col.kind'),
        kind: 'text',
        cell: (r) => (KIND_KEY[r.kind] ? t(KIND_KEY[r.kind] as MsgKey) : r.kind),
      },
      { id: 'access', label: t('col.access'), kind: 'text', cell: (r) => t(`access.${r.access}`) },
      { id: 'family', label: t('col.family'), kind: 'text', cell: (r) => `IPv${r.family}` },
      {
        id: 'download',
        label: t('col.download'),
        kind: 'number',
        digits: 1,
        cell: (r) => (r.download === null ? null : mbps(r.download)),
      },
      {
        id: 'upload',
        label: t('col.upload'),
        kind: 'number',
        digits: 1,
        cell: (r) => (r.upload === null ? null : mbps(r.upload)),
      },
      { id: 'latency', label: t('col.latency'), kind: 'number', digits: 1, cell: (r) => r.latency },
      {
        id: 'result',
        label: t('col.result'),
        kind: 'text',
        align: 'center',
        cell: (r) => ({
          value: null,
          text: RESULT_KEY[r.status] ? t(RESULT_KEY[r.status] as MsgKey) : r.status,
          badge: r.status === 'ok' ? 'met' : r.status === 'error' ? 'short' : 'warn',
        }),
      },
    ];
    const recentT: Table<RecentRow> = { id: 'recent', columns: recentCols, rows: recent, empty: t('none') };

    // Latency, jitter and loss this week, per access type.
    const latRows: LatencyRow[] = [];
    for (const access of ACCESS) {
      const mine = agents.filter((a) => a.access === access);
      if (!mine.length && !own[access]?.samples) continue;
      const jitter: number[] = [];
      const loss: number[] = [];
      for (const a of mine) {
        for (const r of weekStmt.all(a.id, period.startMs, period.endMs) as Array<
          Record<string, number | null | string>
        >) {
          if (r.kind === 'latency' && typeof r.jitter_ms === 'number') jitter.push(r.jitter_ms);
          if (r.kind === 'udp' && typeof r.loss_pct === 'number') loss.push(r.loss_pct);
        }
      }
      const s = own[access];
      latRows.push({
        access,
        latency: s?.latencyMedian ?? null,
        jitter: medianOrNull(jitter),
        loss: medianOrNull(loss),
        upload: s?.uploadMedian === null || s?.uploadMedian === undefined ? null : mbps(s.uploadMedian),
        samples: s?.samples ?? 0,
      });
    }
    const latT: Table<LatencyRow> = {
      id: 'latency',
      rows: latRows,
      empty: t('nodata'),
      columns: [
        { id: 'access', label: t('col.access'), kind: 'text', cell: (r) => t(`access.${r.access}`) },
        { id: 'latency', label: t('col.latency'), kind: 'number', digits: 1, cell: (r) => r.latency },
        { id: 'jitter', label: t('col.jitter'), kind: 'number', digits: 1, cell: (r) => r.jitter },
        { id: 'loss', label: t('col.loss'), kind: 'number', digits: 1, cell: (r) => r.loss },
        { id: 'upload', label: t('col.upload'), kind: 'number', digits: 1, cell: (r) => r.upload },
        { id: 'samples', label: t('col.samples'), kind: 'number', cell: (r) => r.samples },
      ],
    };

    // The province-wide report (cached once for every page) has one row per commune; only this
    // commune's row is read here, so nothing of other communes shows.
    const v6 = communeIpv6(scopedIpv6Report(deps, 'all', period.key), code);
    const v6T: Table<Ipv6TargetView> = {
      id: 'ipv6',
      rows: v6.targets,
      empty: t('commune.ipv6.none'),
      columns: [
        { id: 'target', label: t('col.target.name'), kind: 'text', cell: (r) => r.name },
        {
          id: 'status',
          label: t('col.result'),
          kind: 'text',
          align: 'center',
          cell: (r) => ({ value: null, text: t(`ipv6.${r.status}`), badge: r.status === 'pass' ? 'met' : 'short' }),
        },
        { id: 'share', label: t('col.v6share'), kind: 'percent', digits: 0, cell: (r) => r.share * 100 },
        { id: 'code', label: t('col.errorCode'), kind: 'text', cell: (r) => r.code },
      ],
    };

    const latency = own.fixed?.latencyMedian ?? own.mobile?.latencyMedian ?? null;
    const extra: Kpi[] = [
      {
        id: 'latency',
        label: t('kpi.latency'),
        value: latency === null ? '—' : formatNumber(latency, ctx.lang, 1),
        unit: 'ms',
      },
      {
        id: 'ipv6',
        label: t('kpi.ipv6'),
        value: v6.host === null ? '—' : v6.host ? t('ipv6.yes') : t('ipv6.no'),
        cls: v6.host === null ? '' : v6.host ? 'met' : 'short',
      },
    ];
    const districtCode = tree.ancestors(code).find((c) => tree.get(c)?.level === 'district');
    const province = provinceCode(deps);
    const crumbs = [
      ...(tree.canRead(scope, province) ? [{ label: tree.get(province)?.name ?? province, href: '/' }] : []),
      ...(districtCode && tree.canRead(scope, districtCode)
        ? [
            {
              label: tree.get(districtCode)?.name ?? districtCode,
              href: `/district/${encodeURIComponent(districtCode)}`,
            },
          ]
        : []),
      { label: unit.name },
    ];
    return {
      csvName: `commune-${code}-${period.key}`,
      tables: {
        recent: () => tableCsv(recentT),
        agents: () => tableCsv(agentsT),
        latency: () => tableCsv(latT),
        ipv6: () => tableCsv(v6T),
        trend: () => tableCsv(chart.table),
      },
      parts: {
        id: 'commune',
        nav: 'overview',
        title: unit.name,
        crumbs,
        actions: html`${weekNav(ctx, period, current)}`,
        body: html`${partialNote(ctx, period, current)}${kpis(provinceKpis(ctx, own, extra))}${chart.html}
${panel(t('commune.agents'), renderTable(agentsT, { lang: ctx.lang }), { actions: csvLink(ctx, 'agents') })}
<div class="grid-2 stack">${panel(t('commune.latency'), renderTable(latT, { lang: ctx.lang }), {
          actions: csvLink(ctx, 'latency'),
          sub: `${weekLabel(t, period)} · ${weekRange(t, period)}`,
        })}${panel(t('commune.ipv6'), renderTable(v6T, { lang: ctx.lang }), { actions: csvLink(ctx, 'ipv6') })}</div>
${panel(t('commune.recent', { n: DASHBOARD_RECENT_TESTS }), renderTable(recentT, { lang: ctx.lang }), { actions: csvLink(ctx, 'recent') })}`,
      },
    };
  };
}
