import { type CollectorConfig, DAY_MS } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { pruneRawResults } from '../storage/retention.js';

/**
 * Deletes raw results older than storage.rawRetentionDays, every storage.pruneIntervalMinutes and
 * a minute after start. Rollups (all statistics) are kept. 0 days keeps everything.
 */
export const retentionPlugin = fp(
  async (app: FastifyInstance, opts: { config: CollectorConfig; now?: () => number }) => {
    const { rawRetentionDays, pruneIntervalMinutes } = opts.config.storage;
    if (rawRetentionDays === 0) return;
    const now = opts.now ?? Date.now;
    let running = false;
    const run = async () => {
      if (running) return;
      running = true;
      try {
        const before = now() - rawRetentionDays * DAY_MS;
        const n = await pruneRawResults(app.db, before, () => new Promise((r) => setImmediate(r)));
        if (n > 0) app.log.info({ deleted: n, before: new Date(before).toISOString() }, 'pruned raw results');
      } catch (err) {
        app.log.error({ err }, 'pruning raw results failed');
      } finally {
        running = false;
      }
    };
    const first = setTimeout(run, 60_000);
    const every = setInterval(run, pruneIntervalMinutes * 60_000);
    first.unref();
    every.unref();
    app.addHook('onClose', async () => {
      clearTimeout(first);
      clearInterval(every);
    });
  },
  { name: 'hatang-retention', dependencies: ['hatang-db'] },
);
