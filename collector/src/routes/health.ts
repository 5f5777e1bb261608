import type { FastifyInstance } from 'fastify';

export interface HealthOptions {
  version: string;
  role: string;
}

/** `/healthz`: the process answers. `/readyz`: it can also use its database. */
export async function healthRoutes(app: FastifyInstance, opts: HealthOptions) {
  app.get('/healthz', async () => ({ status: 'ok', version: opts.version, role: opts.role }));
  app.get('/readyz', async (_req, reply) => {
    if (app.hasDecorator('db')) {
      try {
        app.db.prepare('SELECT 1').get();
      } catch {
        return reply.code(503).send({ status: 'unavailable', reason: 'database' });
      }
    }
    return { status: 'ready' };
  });
}
