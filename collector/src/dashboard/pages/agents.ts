import type { FastifyRequest } from 'fastify';
import type { Scope } from '../../geography/tree.js';
import type { PageResult } from '../../routes/dashboard.js';
import type { AgentRow } from '../../storage/repo.js';
import { formatAge, formatAgo, formatDateTime } from '../format.js';
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
  /** Results the collector refused in the last 7 days (the agent's dead letters). */
  rejected: number;
  /** The outbox as the agent reported it with its latest batch; null from an agent that sends none. */
  outbox: OutboxView | null;
  status: AgentStatus;
}

/** An agent's latest outbox status (the ingest envelope's agentStatus, migration 33). */
export interface OutboxView {
  /** When the collector received it, ms since epoch. */
  reportedAt: number;
  /** Results waiting behind that batch. */
  queued: number;
  /** Start of the oldest of them, ms since epoch on the collector clock; null when none (or unknown). */
  oldestAt: number | null;
  deadLetters: number;
  dropped: number;
}

/** An agent whose oldest waiting result is older than this needs a look (highlighted). */
export const OUTBOX_LAG_WARN_MS = 86_400_000;

/** True when the agent's outbox needs a look: dead letters kept, or a result waiting over a day. */
export function outboxNeedsLook(o: OutboxView | null, now: number): boolean {
  if (!o) return false;
  return o.deadLetters > 0 || (o.oldestAt !== null && now - o.oldestAt > OUTBOX_LAG_WARN_MS);
}

const STATUS_KEY: Record<AgentStatus, MsgKey> = {
  online: 'status.online',
  silent: 'status.silent',
  never: 'status.never',
  revoked: 'status.revoked',
};
const STATUS_ORDER: Record<AgentStatus, number> = { silent: 0, never: 1, online: 2, revoked: 3 };

interface AgentBase extends Omit<AgentView, 'status' | 'rejected'> {
  revoked: boolean;
}

const collator = new Intl.Collator('vi');
/** Days of refused results shown beside each agent. */
export const REJECTED_DAYS = 7;

/**
 * Every agent with its place, the delay of its latest result and its latest outbox status, in one
 * statement (the correlated subquery walks the (agent_id, started_at) index once per agent; the
 * status is one primary-key lookup), ordered by district, commune, name. Cached like the figures:
 * last-seen times and statuses are at most dashboard.cacheSeconds old.
 */
function allAgents(deps: PageDeps): AgentBase[] {
  return deps.cache.get('agents', () => {
    const tree = deps.app.stats.tree();
    const rows = deps.app.db
      .prepare(
        `SELECT a.id, a.name, a.commune_code, a.access, a.isp, a.agent_version, a.last_seen_at, a.revoked_at,
                (SELECT r.received_at - r.started_at FROM results r
                  WHERE r.agent_id = a.id ORDER BY r.started_at DESC LIMIT 1) AS lag_ms,
                s.reported_at, s.queued, s.oldest_queued_at, s.dead_letters, s.dropped
           FROM agents a LEFT JOIN agent_status s ON s.agent_id = a.id`,
      )
      .all() as Array<
      Pick<
        AgentRow,
        'id' | 'name' | 'commune_code' | 'access' | 'isp' | 'agent_version' | 'last_seen_at' | 'revoked_at'
      > & {
        lag_ms: number | null;
        reported_at: number | null;
        queued: number | null;
        oldest_queued_at: number | null;
        dead_letters: number | null;
        dropped: number | null;
      }
    >;
    const out: AgentBase[] = rows.map((a) => {
      const districtCode = a.commune_code
        ? (tree.ancestors(a.commune_code).find((x) => tree.get(x)?.level === 'district') ?? null)
        : null;
      return {
        id: a.id,
        name: a.name,
        communeCode: a.commune_code,
        communeName: a.commune_code ? (tree.get(a.commune_code)?.name ?? null) : null,
        districtCode,
        districtName: districtCode ? (tree.get(districtCode)?.name ?? null) : null,
        access: a.access,
        isp: a.isp,
        version: a.agent_version,
        lastSeen: a.last_seen_at,
        lagMin: a.lag_ms === null ? null : Math.max(0, a.lag_ms / 60_000),
        outbox:
          a.reported_at === null
            ? null
            : {
                reportedAt: a.reported_at,
                queued: a.queued ?? 0,
                oldestAt: a.oldest_queued_at,
                deadLetters: a.dead_letters ?? 0,
                dropped: a.dropped ?? 0,
              },
        revoked: a.revoked_at !== null,
      };
    });
    return out.sort(
      (x, y) =>
        collator.compare(x.districtName ?? '', y.districtName ?? '') ||
        collator.compare(x.communeName ?? '', y.communeName ?? '') ||
        collator.compare(x.name, y.name),
    );
  }).value;
}

/** Agents the scope may see (of one commune, when given), silent ones first. */
export function agentRows(deps: PageDeps, scope: Scope, now: number, commune?: string): AgentView[] {
  const tree = deps.app.stats.tree();
  const silentMs = deps.config.dashboard.silentAfterHours * 3_600_000;
  const rejected = deps.app.rejectedSince(now - REJECTED_DAYS * 86_400_000);
  const out: AgentView[] = [];
  for (const a of allAgents(deps)) {
    if (commune !== undefined && a.communeCode !== commune) continue;
    if (scope !== 'all' && (a.communeCode === null || !tree.canRead(scope, a.communeCode))) continue;
    const { revoked, ...view } = a;
    const status: AgentStatus = revoked
      ? 'revoked'
      : a.lastSeen === null
        ? 'never'
        : now - a.lastSeen > silentMs
          ? 'silent'
          : 'online';
    out.push({ ...view, status, rejected: rejected.get(a.id) ?? 0 });
  }
  // Stable: within a status, the cached district / commune / name order stays.
  return out.sort((x, y) => STATUS_ORDER[x.status] - STATUS_ORDER[y.status]);
}

export interface AgentTableOptions {
  /** Commune and district columns (not on a commune's own page). */
  place: boolean;
  /** The outbox columns (left out of the printed report, which must fit A4). */
  outbox?: boolean;
}

export function agentColumns(ctx: PageContext, opts: AgentTableOptions): Column<AgentView>[] {
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
    {
      id: 'last-seen',
      label: t('col.lastSeen'),
      kind: 'datetime',
      // How long ago, on hover; the table stays narrow enough for an office screen.
      cell: (r) =>
        r.lastSeen === null ? null : { value: r.lastSeen, title: formatAgo(r.lastSeen, ctx.now, ctx.lang) },
    },
    { id: 'lag', label: t('col.outboxLag'), kind: 'number', digits: 0, help: t('col.lag.help'), cell: (r) => r.lagMin },
    {
      id: 'rejected',
      label: t('col.deadLetters'),
      kind: 'number',
      help: t('col.deadLetters.help'),
      cell: (r) => ({ value: r.rejected, cls: r.rejected > 0 ? 'warn' : undefined }),
    },
  );
  if (opts.outbox ?? true) cols.push(...outboxColumns(ctx));
  cols.push({
    id: 'status',
    label: t('col.agentStatus'),
    kind: 'text',
    align: 'center',
    cell: (r) => ({
      value: null,
      text: t(STATUS_KEY[r.status]),
      badge: r.status === 'online' ? 'met' : r.status === 'silent' ? 'short' : 'nodata',
    }),
  });
  return cols;
}

/**
 * The agent's outbox as it last reported it: results waiting, how long the oldest has waited (as
 * a duration; its Vietnam time on hover), dead letters, dropped results. "—" for an agent that sends
 * no status (an older version). The CSV holds the same text as the page, the age included.
 */
function outboxColumns(ctx: PageContext): Column<AgentView>[] {
  const { t } = ctx;
  const group = t('col.outbox');
  return [
    {
      id: 'queued',
      group,
      label: t('col.queued'),
      kind: 'number',
      help: t('col.queued.help'),
      cell: (r) => (r.outbox ? r.outbox.queued : null),
    },
    {
      id: 'oldest-queued',
      group,
      label: t('col.oldestQueued'),
      kind: 'datetime',
      help: t('col.oldestQueued.help'),
      cell: (r) => {
        const at = r.outbox?.oldestAt ?? null;
        if (at === null) return null;
        return {
          value: at,
          text: formatAge(at, ctx.now, ctx.lang),
          title: `${formatDateTime(at, ctx.lang)} (UTC+7)`,
          cls: ctx.now - at > OUTBOX_LAG_WARN_MS ? 'warn' : undefined,
        };
      },
    },
    {
      id: 'dead-letters',
      group,
      label: t('col.agentDeadLetters'),
      kind: 'number',
      help: t('col.agentDeadLetters.help'),
      cell: (r) =>
        r.outbox ? { value: r.outbox.deadLetters, cls: r.outbox.deadLetters > 0 ? 'warn' : undefined } : null,
    },
    {
      id: 'dropped',
      group,
      label: t('col.dropped'),
      kind: 'number',
      help: t('col.dropped.help'),
      cell: (r) => (r.outbox ? { value: r.outbox.dropped, cls: r.outbox.dropped > 0 ? 'warn' : undefined } : null),
    },
  ];
}

export function agentTable(
  ctx: PageContext,
  rows: AgentView[],
  place: boolean,
  id = 'agents',
  opts: { outbox?: boolean } = {},
): Table<AgentView> {
  return {
    id,
    columns: agentColumns(ctx, { place, ...opts }),
    rows,
    rowClass: (r) => (r.status === 'silent' ? 'silent' : outboxNeedsLook(r.outbox, ctx.now) ? 'attention' : undefined),
    empty: ctx.t('none'),
  };
}

export function agentsPage(deps: PageDeps) {
  return (_req: FastifyRequest, ctx: PageContext, user: SessionUser): PageResult => {
    const { t } = ctx;
    const rows = agentRows(deps, scopeOf(user), ctx.now);
    const silent = rows.filter((r) => r.status === 'silent').length;
    const attention = rows.filter((r) => r.status !== 'silent' && outboxNeedsLook(r.outbox, ctx.now)).length;
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
          sub: `${rows.length} · ${t('agents.silentCount', { n: silent })} · ${t('agents.attentionCount', { n: attention })}`,
        }),
      },
    };
  };
}
