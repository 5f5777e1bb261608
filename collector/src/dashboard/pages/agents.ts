import type { FastifyRequest } from 'fastify';
import type { Scope } from '../../geography/tree.js';
import type { PageResult } from '../../routes/dashboard.js';
import type { AgentRow } from '../../storage/repo.js';
import { formatAgo } from '../format.js';
import type { MsgKey } from '../i18n.js';
import type { PageContext } from '../layout.js';
import type { SessionUser } from '../sessions.js';
import { type Column, renderTable, type Table, tableCsv } from '../table.js';
import { csvLink, type PageDeps, panel, scopeOf } from './common.js';

export type AgentStatus = 'online' | 'silent' | 'never' | 'revoked';

export interface AgentView {
  id: string;
  name: string;
  communeCode: string | null;
  communeName: string | null;
  districtCode: string | null;
  districtName: string | null;
  access: 'fixed' | 'mobile';
  isp: string | null;
  version: string | null;
  lastSeen: number | null;
  /** Minutes from the latest result's measurement to its receipt. */
  lagMin: number | null;
  status: AgentStatus;
}

const STATUS_KEY: Record<AgentStatus, MsgKey> = {
  online: 'status.online',
  silent: 'status.silent',
  never: 'status.never',
  revoked: 'status.revoked',
};
const STATUS_ORDER: Record<AgentStatus, number> = { silent: 0, never: 1, online: 2, revoked: 3 };

/** Agents the scope may see, silent ones first. */
export function agentRows(deps: PageDeps, scope: Scope, now: number, commune?: string): AgentView[] {
  const tree = deps.app.stats.tree();
  const silentMs = deps.config.dashboard.silentAfterHours * 3_600_000;
  const latest = deps.app.db.prepare(
    'SELECT started_at, received_at FROM results WHERE agent_id = ? ORDER BY started_at DESC LIMIT 1',
  );
  const out: AgentView[] = [];
  for (const a of deps.app.repo.listAgents() as AgentRow[]) {
    if (commune !== undefined && a.commune_code !== commune) continue;
    if (scope !== 'all' && (a.commune_code === null || !tree.canRead(scope, a.commune_code))) continue;
    const c = a.commune_code ? tree.get(a.commune_code) : undefined;
    const districtCode = a.commune_code
      ? (tree.ancestors(a.commune_code).find((x) => tree.get(x)?.level === 'district') ?? null)
      : null;
    const last = latest.get(a.id) as { started_at: number; received_at: number } | undefined;
    const status: AgentStatus =
      a.revoked_at !== null
        ? 'revoked'
        : a.last_seen_at === null
          ? 'never'
          : now - a.last_seen_at > silentMs
            ? 'silent'
            : 'online';
    out.push({
      id: a.id,
      name: a.name,
      communeCode: a.commune_code,
      communeName: c?.name ?? null,
      districtCode,
      districtName: districtCode ? (tree.get(districtCode)?.name ?? null) : null,
      access: a.access,
      isp: a.isp,
      version: a.agent_version,
      lastSeen: a.last_seen_at,
      lagMin: last ? Math.max(0, (last.received_at - last.started_at) / 60_000) : null,
      status,
    });
  }
  return out.sort(
    (x, y) =>
      STATUS_ORDER[x.status] - STATUS_ORDER[y.status] ||
      (x.districtName ?? '').localeCompare(y.districtName ?? '', 'vi') ||
      (x.communeName ?? '').localeCompare(y.communeName ?? '', 'vi') ||
      x.name.localeCompare(y.name, 'vi'),
  );
}

export function agentColumns(ctx: PageContext, opts: { place: boolean }): Column<AgentView>[] {
  const { t } = ctx;
  const cols: Column<AgentView>[] = [{ id: 'agent', label: t('col.agent'), kind: 'text', cell: (r) => r.name }];
  if (opts.place) {
    cols.push(
      {
        id: 'commune',
        label: t('col.commune'),
        kind: 'text',
        cell: (r) =>
          r.communeCode
            ? { value: r.communeName ?? r.communeCode, href: `/commune/${encodeURIComponent(r.communeCode)}` }
            : null,
      },
      {
        id: 'district',
        label: t('col.district'),
        kind: 'text',
        cell: (r) =>
          r.districtCode
            ? { value: r.districtName ?? r.districtCode, href: `/district/${encodeURIComponent(r.districtCode)}` }
            : null,
      },
    );
  }
  cols.push(
    { id: 'access', label: t('col.access'), kind: 'text', cell: (r) => t(`access.${r.access}`) },
    { id: 'isp', label: t('col.isp'), kind: 'text', cell: (r) => r.isp },
    { id: 'version', label: t('col.version'), kind: 'text', cell: (r) => r.version },
    { id: 'last-seen', label: t('col.lastSeen'), kind: 'datetime', cell: (r) => r.lastSeen },
    {
      id: 'ago',
      label: t('col.lastSeenAgo'),
      kind: 'text',
      cell: (r) => (r.lastSeen === null ? null : formatAgo(r.lastSeen, ctx.now, ctx.lang)),
    },
    { id: 'lag', label: t('col.outboxLag'), kind: 'number', digits: 0, help: t('col.lag.help'), cell: (r) => r.lagMin },
    {
      id: 'status',
      label: t('col.agentStatus'),
      kind: 'text',
      align: 'center',
      cell: (r) => ({
        value: null,
        text: t(STATUS_KEY[r.status]),
        badge: r.status === 'online' ? 'met' : r.status === 'silent' ? 'short' : 'nodata',
      }),
    },
  );
  return cols;
}

export function agentTable(ctx: PageContext, rows: AgentView[], place: boolean, id = 'agents'): Table<AgentView> {
  return {
    id,
    columns: agentColumns(ctx, { place }),
    rows,
    rowClass: (r) => (r.status === 'silent' ? 'silent' : undefined),
    empty: ctx.t('none'),
  };
}

export function agentsPage(deps: PageDeps) {
  return (_req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const rows = agentRows(deps, scopeOf(user), ctx.now);
    const silent = rows.filter((r) => r.status === 'silent').length;
    const table = agentTable(ctx, rows, true);
    return {
      csvName: 'agents',
      tables: { agents: () => tableCsv(table) },
      parts: {
        id: 'agents',
        nav: 'agents',
        title: t('agents.title'),
        lead: t('agents.lead', { hours: deps.config.dashboard.silentAfterHours }),
        actions: csvLink(ctx, 'agents'),
        body: panel(t('agents.title'), renderTable(table, { lang: ctx.lang }), {
          sub: `${rows.length} · ${t('agents.silentCount', { n: silent })}`,
        }),
      },
    };
  };
}
