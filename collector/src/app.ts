import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig } from '@hatang/shared';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { registerDashboard, registerSessionReader } from './dashboard/index.js';
import { rejectionsPlugin } from './dashboard/rejections.js';
import { sessionsPlugin } from './dashboard/sessions.js';
import { ingestEventsPlugin } from './ingest/events.js';
import { accessPlugin } from './plugins/access.js';
import { authPlugin } from './plugins/auth.js';
import { dbPlugin } from './plugins/db.js';
import { errorsPlugin } from './plugins/errors.js';
import { metricsPlugin } from './plugins/metrics.js';
import { openapiPlugin } from './plugins/openapi.js';
import { publicLimitsPlugin } from './plugins/public-limits.js';
import { retentionPlugin } from './plugins/retention.js';
import { sheddingPlugin } from './plugins/shedding.js';
import { statsPlugin } from './plugins/stats.js';
import { adminRoutes } from './routes/admin.js';
import { enrollRoutes } from './routes/enroll.js';
import { exportRoutes } from './routes/export.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { ipv6Routes } from './routes/ipv6.js';
import { ndt7Routes } from './routes/ndt7.js';
import { speedRoutes } from './routes/speed.js';
import { statsRoutes } from './routes/stats.js';
import { unitsRoutes } from './routes/units.js';
import { createSpeedStats, type SpeedStats } from './speed/stats.js';
import type { Db } from './storage/db.js';
import { udpPlugin } from './udp/plugin.js';
import { VERSION } from './version.js';

export type Role = 'all' | 'speedtest';

export interface BuildAppOptions {
  /** Validated configuration; defaults apply where absent. */
  config?: CollectorConfig;
  /** `all`: the full collector. `speedtest`: only the stateless test endpoints. */
  role?: Role;
  /** SQLite file (role `all`). */
  dbPath?: string;
  /** An open database to use instead of opening dbPath (tests, CLI). */
  db?: Db;
  /** pino logger options, or false for none. */
  logger?: FastifyServerOptions['logger'];
  /** Clock for ingest, injectable in tests. */
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Live counters of the speed-test endpoints (for /metrics). */
    speedStats: SpeedStats;
  }
}

/** Build the collector: registers plugins and routes, never listens (fastify Testing guide). */
export async function buildApp(opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config = opts.config ?? COLLECTOR_CONFIG_DEFAULTS;
  const role = opts.role ?? config.role;
  const app = Fastify({
    logger: opts.logger ?? false,
    trustProxy: false,
    // Ingest has its own limit per route; everything else is small.
    bodyLimit: 64 * 1024,
    // A stalled client cannot hold a request open forever.
    requestTimeout: 120_000,
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  await app.register(errorsPlugin);
  // Metrics first: its onRequest hook must reach every route registered after it (both roles).
  await app.register(ingestEventsPlugin);
  await app.register(metricsPlugin, {
    role,
    config: config.metrics,
    version: VERSION,
    now: opts.now,
    targets: config.targets,
  });
  await app.register(openapiPlugin, { version: VERSION });
  await app.register(healthRoutes, { version: VERSION, role });
  // The test endpoints, for both roles: HTTP speed and ping here, the UDP echo below.
  const speedStats = createSpeedStats();
  app.decorate('speedStats', speedStats);
  // Per-address limits shared by the speed-test routes and ndt7 (docs/security.md).
  await app.register(publicLimitsPlugin, { config });
  await app.register(speedRoutes, { config, stats: speedStats });
  if (role === 'all') {
    await app.register(dbPlugin, { dbPath: opts.dbPath ?? './data/hatang.db', ...(opts.db ? { db: opts.db } : {}) });
    await app.register(sheddingPlugin, config.load);
    await app.register(authPlugin);
    await app.register(statsPlugin, { config, ...(opts.now ? { now: opts.now } : {}) });
    await app.register(accessPlugin);
    await app.register(retentionPlugin, { config, ...(opts.now ? { now: opts.now } : {}) });
    await app.register(rejectionsPlugin, { ...(opts.now ? { now: opts.now } : {}) });
    await app.register(ingestRoutes, { config, ...(opts.now ? { now: opts.now } : {}) });
    await app.register(statsRoutes);
    await app.register(ipv6Routes, { ...(opts.now ? { now: opts.now } : {}) });
    await app.register(unitsRoutes, { ...(opts.now ? { now: opts.now } : {}) });
    await app.register(adminRoutes, { ...(opts.now ? { now: opts.now } : {}) });
    await app.register(exportRoutes, { ...(opts.now ? { now: opts.now } : {}) });
    await app.register(enrollRoutes, { config, ...(opts.now ? { now: opts.now } : {}) });
    await app.register(sessionsPlugin, { config, ...(opts.now ? { now: opts.now } : {}) });
    await app.after();
    registerSessionReader(app);
    if (config.dashboard.enabled) await registerDashboard(app, { config, ...(opts.now ? { now: opts.now } : {}) });
  }
  await app.register(ndt7Routes, { config, role });
  // After the database (role all checks agent tokens); binds only when the app listens.
  await app.register(udpPlugin, { config, role });
  return app;
}
