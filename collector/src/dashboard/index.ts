import type { CollectorConfig } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { type DashboardHost, dashboardRoutes } from '../routes/dashboard.js';
import { FigureCache } from './cache.js';
import { agentsPage } from './pages/agents.js';
import { type PageDeps, scopeOf, trendsOf, unitsOf } from './pages/common.js';
import { communePage } from './pages/commune.js';
import { communeRows, districtPage } from './pages/district.js';
import { ipv6Page } from './pages/ipv6.js';
import { scopedIpv6Report } from './pages/ipv6-data.js';
import { districtRows, overviewPage, provinceCode } from './pages/overview.js';
import { reportPage } from './pages/report.js';
import { type SessionUser, sameToken } from './sessions.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The dashboard's figure cache (cleared by the benchmark for cold runs). */
    dashboardCache: FigureCache;
  }
}

export interface DashboardOptions {
  config: CollectorConfig;
  now?: () => number;
}

/** Header a browser script sends with a session-authenticated write to the API. */
export const CSRF_HEADER = 'x-hatang-csrf';

/**
 * Logged-in dashboard users may also read the stats and export API with their session cookie,
 * inside their scope (app.canRead). Reads only need the cookie; a write (admin API) also needs the
 * session's CSRF token in the x-hatang-csrf header, so another site cannot make the browser act.
 */
export function registerSessionReader(app: FastifyInstance): void {
  if (!app.hasDecorator('addReaderResolver')) return;
  app.addReaderResolver((req) => {
    const u = app.sessionUser(req);
    if (!u) return undefined;
    const safe = req.method === 'GET' || req.method === 'HEAD';
    if (!safe && !sameToken(u.csrf, req.headers[CSRF_HEADER])) return undefined;
    return { kind: 'session', id: String(u.id), name: u.username, admin: u.role === 'admin', scope: scopeOf(u) };
  });
}

/** Register the dashboard pages (role all, dashboard.enabled). */
export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  const cache = new FigureCache(opts.config.dashboard.cacheSeconds * 1000, {
    onError: (err) => app.log.error({ err }, 'dashboard figures refresh failed'),
  });
  app.decorate('dashboardCache', cache);
  const deps: PageDeps = { app, config: opts.config, now, cache };
  const host: DashboardHost = {
    provinceName: () => {
      try {
        return app.stats.tree().get(provinceCode(deps))?.name ?? '';
      } catch {
        return '';
      }
    },
    scopeName: (u: SessionUser) => (u.scopeUnit ? (app.stats.tree().get(u.scopeUnit)?.name ?? u.scopeUnit) : undefined),
    targets: (t: number) => {
      const year = app.stats.currentPeriod('week', t).year;
      const fixed = app.stats.targetFor(year, 'fixed');
      const mobile = app.stats.targetFor(year, 'mobile');
      return fixed === null || mobile === null ? undefined : { year, fixed: fixed / 1e6, mobile: mobile / 1e6 };
    },
    home: (u: SessionUser) => {
      if (u.role === 'admin' || u.scopeUnit === null) return '/';
      const unit = app.stats.tree().get(u.scopeUnit);
      if (unit?.level === 'district') return `/district/${encodeURIComponent(unit.code)}`;
      if (unit?.level === 'commune') return `/commune/${encodeURIComponent(unit.code)}`;
      return '/';
    },
  };
  // Once listening, compute the current week's province and district figures in the background,
  // so the first person to open the dashboard after a restart does not wait for them.
  app.addHook('onListen', async () => {
    if (opts.config.dashboard.cacheSeconds <= 0) return;
    setTimeout(() => {
      try {
        warmUp(deps);
      } catch (err) {
        app.log.warn({ err }, 'dashboard warm-up failed');
      }
    }, 200).unref();
  });
  await app.register(dashboardRoutes, {
    config: opts.config,
    now,
    host,
    pages: [
      { path: '/', handler: overviewPage(deps) },
      { path: '/district/:code', handler: districtPage(deps) },
      { path: '/commune/:code', handler: communePage(deps) },
      { path: '/agents', handler: agentsPage(deps) },
      { path: '/ipv6', handler: ipv6Page(deps) },
      { path: '/report', handler: reportPage(deps) },
    ],
  });
}

/** The figures behind the overview, every district page and the province report, current week. */
export function warmUp(deps: PageDeps): void {
  const province = provinceCode(deps);
  const week = deps.app.stats.currentPeriod('week', deps.now()).key;
  districtRows(deps, province, week);
  unitsOf(deps, 'province', province, week);
  communeRows(deps, province, week);
  scopedIpv6Report(deps, 'all', week);
  const districts = deps.app.stats
    .tree()
    .all()
    .filter((u) => u.level === 'district' && u.merged_into === null && u.parent_code === province);
  trendsOf(
    deps,
    districts.map((u) => u.code),
    week,
  );
  for (const u of districts) {
    communeRows(deps, u.code, week);
    unitsOf(deps, 'district', u.code, week);
  }
}
