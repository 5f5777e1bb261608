import type { CollectorConfig } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { loadDefaultUnits } from '../geography/defaults.js';
import { createStatsService, type StatsService } from '../stats/service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** i-Speed-style statistics, in process (collector/src/stats/service.ts). */
    stats: StatsService;
  }
}

/** Delay between start and the background warm-up of statistics, ms. */
export const WARM_UP_DELAY_MS = 3000;

export interface StatsPluginOptions {
  config: CollectorConfig;
  now?: () => number;
}

/** Decorates `app.stats`; loads the shipped unit list into an empty database when configured. */
export const statsPlugin = fp(
  async (app: FastifyInstance, opts: StatsPluginOptions) => {
    const now = opts.now ?? Date.now;
    if (opts.config.geography.loadDefaultUnits) {
      const loaded = loadDefaultUnits(app.db, now());
      if (loaded) app.log.info({ units: loaded.added }, 'loaded the default unit list (Son La, GSO 01/03/2025)');
    }
    const stats = createStatsService({
      db: app.db,
      targets: opts.config.targets,
      now,
      refreshDelayMs: opts.config.stats.refreshDelayMs,
      onRefresh: (periods, ms) => app.log.debug({ periods, ms }, 'statistics refreshed after ingest'),
    });
    app.addHook('onClose', async () => stats.close());
    app.decorate('stats', stats);
    // Compute recent weeks and months in the background shortly after start (stats.warmUp*).
    const { warmUpWeeks, warmUpMonths } = opts.config.stats;
    if (warmUpWeeks + warmUpMonths > 0) {
      const abort = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      app.addHook('onReady', async () => {
        timer = setTimeout(() => {
          const started = Date.now();
          stats
            .warmUp({ weeks: warmUpWeeks, months: warmUpMonths, signal: abort.signal })
            .then((n) => app.log.info({ periods: n, ms: Date.now() - started }, 'statistics warmed up'))
            .catch((err) => app.log.warn({ err }, 'statistics warm-up stopped'));
        }, WARM_UP_DELAY_MS);
        timer.unref();
      });
      app.addHook('onClose', async () => {
        clearTimeout(timer);
        abort.abort();
      });
    }
  },
  { name: 'hatang-stats', dependencies: ['hatang-db'] },
);
