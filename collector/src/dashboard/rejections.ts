import { API_PREFIX, localDayOf } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Results the collector refused, per agent and local day (migration 32). An agent keeps each
 * refused result in its dead-letter table (agent/src/outbox), so this count is the collector's view
 * of the agent's dead letters; the agents page shows the last 7 days. Read from each ingest answer
 * (`rejected`), so the ingest route itself needs no change.
 */

export interface RejectionsOptions {
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Refused results per agent id since `sinceMs`. */
    rejectedSince: (sinceMs: number) => Map<string, number>;
  }
}

export const rejectionsPlugin = fp(
  async (app: FastifyInstance, opts: RejectionsOptions) => {
    const now = opts.now ?? Date.now;
    const add = app.db.prepare(
      `INSERT INTO agent_rejections (agent_id, day, count) VALUES (?, ?, ?)
       ON CONFLICT (agent_id, day) DO UPDATE SET count = count + excluded.count`,
    );
    const since = app.db.prepare(
      'SELECT agent_id, sum(count) AS n FROM agent_rejections WHERE day >= ? GROUP BY agent_id',
    );
    const path = `${API_PREFIX}/results`;
    app.addHook('onSend', async (req, reply, payload) => {
      if (req.method !== 'POST' || reply.statusCode !== 200 || typeof payload !== 'string' || !req.agent)
        return payload;
      if (req.routeOptions.url !== path) return payload;
      try {
        const n = (JSON.parse(payload) as { rejected?: unknown[] }).rejected?.length ?? 0;
        if (n > 0) add.run(req.agent.id, localDayOf(now()), n);
      } catch (err) {
        req.log.warn({ err }, 'could not count rejected results');
      }
      return payload;
    });
    app.decorate('rejectedSince', (sinceMs: number) => {
      const out = new Map<string, number>();
      for (const r of since.all(localDayOf(sinceMs)) as Array<{ agent_id: string; n: number }>)
        out.set(r.agent_id, r.n);
      return out;
    });
  },
  { name: 'hatang-rejections', dependencies: ['hatang-db', 'hatang-auth'] },
);
