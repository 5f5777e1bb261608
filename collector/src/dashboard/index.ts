import type { CollectorConfig } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { type DashboardHost, dashboardRoutes, type PageHandler } from '../routes/dashboard.js';
import { html } from './html.js';
import type { SessionUser } from './sessions.js';

export interface DashboardOptions {
  config: CollectorConfig;
  now?: () => number;
}

/** Register the dashboard pages (role all, dashboard.enabled). */
export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const host: DashboardHost = {
    provinceName: () => 'Sơn La',
    scopeName: (u: SessionUser) => u.scopeUnit ?? undefined,
    targets: () => undefined,
    home: () => '/',
  };
  const overview: PageHandler = (_req, ctx) => ({
    parts: { id: 'overview', nav: 'overview', title: ctx.t('nav.overview'), body: html`<p></p>` },
    tables: {},
    csvName: 'overview',
  });
  await app.register(dashboardRoutes, {
    config: opts.config,
    ...(opts.now ? { now: opts.now } : {}),
    host,
    pages: [{ path: '/', handler: overview }],
  });
}
