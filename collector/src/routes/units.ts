import { API_PREFIX, ErrorBody, parsePeriod, UnitCode } from '@hatang/shared';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { onlyQuery } from './query-guard.js';

const UnitsListQuery = Type.Object(
  {
    level: Type.Optional(
      Type.Union([Type.Literal('province'), Type.Literal('district'), Type.Literal('commune'), Type.Literal('group')]),
    ),
    parent: Type.Optional(UnitCode('Only units under this one (or members of this group).')),
    at: Type.Optional(
      Type.String({
        pattern: '^[0-9]{4}-W[0-9]{2}$',
        description: 'Units as they were in this ISO week; default now.',
      }),
    ),
  },
  { additionalProperties: false },
);

const UnitListItem = Type.Object({
  code: Type.String(),
  name: Type.String({ description: 'Name during the week asked for.' }),
  type: Type.Union([Type.String(), Type.Null()]),
  level: Type.String(),
  parentCode: Type.Union([Type.String(), Type.Null()]),
  members: Type.Optional(Type.Array(Type.String(), { description: 'Members of a group.' })),
});

/** `GET /api/v1/units`: the units a reader may see (docs/protocol.md §5). */
export async function unitsRoutes(app: FastifyInstance, opts: { now?: () => number }) {
  const now = opts.now ?? Date.now;
  app.get<{ Querystring: Static<typeof UnitsListQuery> }>(
    `${API_PREFIX}/units`,
    {
      schema: {
        tags: ['units'],
        summary: 'Units (GSO codes) the caller may read, as they were at a week',
        querystring: UnitsListQuery,
        response: {
          200: Type.Object({ units: Type.Array(UnitListItem) }),
          400: ErrorBody,
          401: ErrorBody,
          404: ErrorBody,
        },
      },
      preValidation: onlyQuery(Object.keys(UnitsListQuery.properties)),
      preHandler: app.requireReader,
    },
    async (req) => {
      const q = req.query;
      const tree = app.stats.tree();
      if (q.parent) app.stats.unit(q.parent); // 404 when unknown
      const span = q.at ? parsePeriod('week', q.at) : { startMs: now(), endMs: now() + 1 };
      const levels = q.level ? [q.level] : (['province', 'district', 'commune', 'group'] as const);
      const units = levels
        .flatMap((l) => tree.unitsAt(l, q.parent ?? null, span))
        .filter((u) => app.canRead(req, u.code))
        .map((u) => {
          const st = tree.stateAt(u.code, span.startMs);
          return {
            code: u.code,
            name: st?.name ?? u.name,
            type: st?.type ?? u.type,
            level: st?.level ?? u.level,
            parentCode: st?.parentCode ?? null,
            ...(u.level === 'group' ? { members: tree.members(u.code) } : {}),
          };
        });
      return { units };
    },
  );
}
