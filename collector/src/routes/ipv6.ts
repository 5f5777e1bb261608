import { API_PREFIX, HatangError, type Lang } from '@hatang/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ipv6Csv } from '../ipv6/csv.js';
import { ipv6WeekReport, weekParam } from '../ipv6/query.js';

export interface Ipv6RouteOptions {
  /** Clock for the default week, injectable in tests. */
  now?: () => number;
}

function langParam(lang: string | undefined): Lang {
  if (lang === undefined || lang === '' || lang === 'vi') return 'vi';
  if (lang === 'en') return 'en';
  throw new HatangError('HATANG_ERR_VALIDATION', `lang must be vi or en; got "${lang}"`);
}

/**
 * IPv6 readiness report (docs/ipv6.md §Report): `GET /api/v1/stats/ipv6?week=YYYY-Www` (JSON) and
 * `GET /api/v1/export/ipv6.csv?week=YYYY-Www&lang=vi|en`. The week defaults to the current one.
 */
export async function ipv6Routes(app: FastifyInstance, opts: Ipv6RouteOptions) {
  const now = opts.now ?? Date.now;
  // Readers only, and each sees the communes of its scope (a district viewer: its district).
  const scoped = (req: FastifyRequest) =>
    req.scope === 'all' ? {} : { communes: (code: string) => app.canRead(req, code) };

  app.get(`${API_PREFIX}/stats/ipv6`, { preHandler: app.requireReader }, async (req) => {
    const q = req.query as { week?: string };
    return ipv6WeekReport(app.db, weekParam(q.week, now()), scoped(req));
  });

  app.get(`${API_PREFIX}/export/ipv6.csv`, { preHandler: app.requireReader }, async (req, reply) => {
    const q = req.query as { week?: string; lang?: string };
    const lang = langParam(q.lang);
    const week = weekParam(q.week, now());
    const csv = ipv6Csv(ipv6WeekReport(app.db, week, scoped(req)), lang);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="hatang-ipv6-${week}.csv"`)
      .header('cache-control', 'no-store')
      .send(csv);
  });
}
