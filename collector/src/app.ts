import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig } from '@hatang/shared';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { authPlugin } from './plugins/auth.js';
import { dbPlugin } from './plugins/db.js';
import { errorsPlugin } from './plugins/errors.js';
import { enrollRoutes } from './routes/enroll.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { speedRoutes } from './routes/speed.js';
import type { Db } from './storage/db.js';
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
  await app.register(speedRoutes, { config });
  if (role === 'all') {
    await app.register(dbPlugin, { dbPath: opts.dbPath ?? './data/hatang.db', ...(opts.db ? { db: opts.db } : {}) });
    await app.register(authPlugin);
    await app.register(ingestRoutes, { ...(opts.now ? { now: opts.now } : {}) });
    await app.register(enrollRoutes, { config, ...(opts.now ? { now: opts.now } : {}) });
  }
  return app;
}
