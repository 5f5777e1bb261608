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
    app.decorate('stats', createStatsService({ db: app.db, targets: opts.config.targets, now }));
  },
  { name: 'hatang-stats', dependencies: ['hatang-db'] },
);
