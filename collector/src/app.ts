import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig } from '@hatang/shared';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { authPlugin } from './plugins/auth.js';
import { dbPlugin } from './plugins/db.js';
import { errorsPlugin } from './plugins/errors.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { speedRoutes } from './routes/speed.js';
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
  await app.register(healthRoutes, { version: VERSION, role });
  // The test endpoints, for both roles: HTTP speed and ping here, the UDP echo below.
  const speedStats = createSpeedStats();
  app.decorate('speedStats', speedStats);
  await app.register(speedRoutes, { config, stats: speedStats });
  if (role === 'all') {
    await app.register(dbPlugin, { dbPath: opts.dbPath ?? './data/hatang.db', ...(opts.db ? { db: opts.db } : {}) });
    await app.register(authPlugin);
    await app.register(ingestRoutes, { ...(opts.now ? { now: opts.now } : {}) });
  }
  // After the database (role all checks agent tokens); binds only when the app listens.
  await app.register(udpPlugin, { config, role });
  return app;
}
