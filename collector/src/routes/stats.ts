import {
  API_PREFIX,
  ErrorBody,
  HatangError,
  TrendQuerySchema,
  type TrendQueryString,
  TrendReportSchema,
  UnitsQuerySchema,
  type UnitsQueryString,
  UnitsReportSchema,
} from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { onlyQuery } from './query-guard.js';

/** `GET /api/v1/stats/units` and `GET /api/v1/stats/trend` (docs/protocol.md §4). */
export async function statsRoutes(app: FastifyInstance) {
  const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

  app.get<{ Querystring: UnitsQueryString }>(
    `${API_PREFIX}/stats/units`,
    {
      schema: {
        tags: ['statistics'],
        summary: 'Statistics of every unit of a level for one week or month',
        querystring: UnitsQuerySchema,
        response: { 200: UnitsReportSchema, ...errors },
      },
      preValidation: onlyQuery(Object.keys(UnitsQuerySchema.properties)),
      preHandler: app.requireReader,
    },
    async (req) => {
      const q = req.query;
      const report = app.stats.units({
        period: q.period ?? 'week',
        at: q.at,
        level: q.level ?? 'commune',
        parent: q.parent ?? null,
        access: q.access,
        isp: q.isp,
        byIsp: q.byIsp,
        perAgent: q.perAgent,
        scope: req.scope,
      });
      if (q.parent && !app.canRead(req, q.parent) && report.rows.length === 0) {
        throw new HatangError('HATANG_ERR_FORBIDDEN', `you may not read unit ${q.parent}`, {
          hint: 'Ask the province for an account that covers this unit.',
        });
      }
      return report;
    },
  );

  app.get<{ Querystring: TrendQueryString }>(
    `${API_PREFIX}/stats/trend`,
    {
      schema: {
        tags: ['statistics'],
        summary: "One unit's figures over consecutive weeks (or months)",
        querystring: TrendQuerySchema,
        response: { 200: TrendReportSchema, ...errors },
      },
      preValidation: onlyQuery(Object.keys(TrendQuerySchema.properties)),
      preHandler: app.requireReader,
    },
    async (req) => {
      const q = req.query;
      if (!app.canRead(req, q.unit)) {
        throw new HatangError('HATANG_ERR_FORBIDDEN', `you may not read unit ${q.unit}`, {
          hint: 'Ask the province for an account that covers this unit.',
        });
      }
      const kind = q.period ?? 'week';
      return app.stats.trend({
        unit: q.unit,
        access: q.access,
        isp: q.isp,
        period: kind,
        count: kind === 'week' ? q.weeks : q.months,
        at: q.at,
        perAgent: q.perAgent,
      });
    },
  );
}
