import { API_PREFIX, ErrorBody, HatangError, MAX_UNITS_CSV_BYTES, UnitCode } from '@hatang/shared';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { importUnits, mergeUnits, readUnitsCsv, renameUnit, saveGroup } from '../geography/units.js';
import { registerAgent, updateAgent } from '../registry/agents.js';
import { createAgentsRepo } from '../storage/agents.js';
import { createRepo } from '../storage/repo.js';
import { createUnitsRepo } from '../storage/units.js';
import { useTypeboxValidation } from './typebox-validator.js';

/**
 * The admin API under /api/v1/admin (docs/protocol.md §6), behind app.requireAdmin: units
 * (import, rename, merge, groups) and agents (register, change, revoke).
 */

const strict = { additionalProperties: false } as const;
const Effective = Type.Optional(
  Type.String({
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
    description: 'Local date (Asia/Ho_Chi_Minh) the change holds from; default now.',
  }),
);
const NullableText = (max: number, description: string) =>
  Type.Union([Type.String({ minLength: 1, maxLength: max }), Type.Null()], { description });

const AgentBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Human name, e.g. the office.' })),
    communeCode: Type.Optional(NullableText(32, 'GSO code of its commune.')),
    access: Type.Optional(Type.Union([Type.Literal('fixed'), Type.Literal('mobile')])),
    isp: Type.Optional(NullableText(64, 'ISP of its line.')),
    planMbps: Type.Optional(
      Type.Union([Type.Number({ minimum: 0.01, maximum: 100_000 }), Type.Null()], {
        description: 'Contracted download speed, Mbit/s.',
      }),
    ),
    latitude: Type.Optional(Type.Union([Type.Number({ minimum: -90, maximum: 90 }), Type.Null()])),
    longitude: Type.Optional(Type.Union([Type.Number({ minimum: -180, maximum: 180 }), Type.Null()])),
    location: Type.Optional(NullableText(200, 'Where the box is: office, room.')),
  },
  strict,
);
type AgentBody = Static<typeof AgentBody>;

const AgentId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-f-]+$' }) }, strict);
const CodeParam = Type.Object({ code: UnitCode('Unit code.') }, strict);

const UnitBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    level: Type.Union([Type.Literal('province'), Type.Literal('district'), Type.Literal('commune')]),
    parentCode: Type.Union([UnitCode('Parent unit.'), Type.Null()]),
    effective: Effective,
  },
  strict,
);
const RenameBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), effective: Effective }, strict);
const MergeBody = Type.Object(
  {
    from: Type.Array(UnitCode('A unit that ceases to exist.'), { minItems: 1, maxItems: 100 }),
    into: UnitCode('The unit that takes them over.'),
    effective: Effective,
  },
  strict,
);
const GroupBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    parentCode: Type.Union([UnitCode('Province or district the group belongs to (who may read it).'), Type.Null()]),
    members: Type.Array(UnitCode('Member unit.'), { maxItems: 1000 }),
  },
  strict,
);

/** Local date → ms of its local midnight; undefined → now. */
export function effectiveAt(date: string | undefined, now: number): number {
  if (!date) return now;
  const ms = Date.parse(`${date}T00:00:00+07:00`);
  if (Number.isNaN(ms)) throw new HatangError('HATANG_ERR_VALIDATION', `effective ${date} is not a date`);
  return ms;
}

export async function adminRoutes(app: FastifyInstance, opts: { now?: () => number }) {
  const now = opts.now ?? Date.now;
  useTypeboxValidation(app);
  app.addHook('preHandler', app.requireAdmin);
  const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
  const tags = ['admin'];
  const P = `${API_PREFIX}/admin`;
  const changed = () => app.stats.invalidate();

  // CSV bodies arrive as text (replacing fastify's own text/plain parser in this plugin only).
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'string', bodyLimit: MAX_UNITS_CSV_BYTES },
    (_r, body, done) => done(null, body),
  );

  app.get(
    `${P}/units`,
    { schema: { tags, summary: 'Every unit, with retired ones, history and group members' } },
    async () => {
      const repo = createUnitsRepo(app.db);
      return { units: repo.all(), history: repo.history(), groupMembers: repo.members() };
    },
  );

  app.post(
    `${P}/units/import`,
    {
      bodyLimit: MAX_UNITS_CSV_BYTES,
      schema: {
        tags,
        summary: 'Import a units CSV (code,name,type,level,parent_code[,merged_into][,members])',
        querystring: Type.Object({ effective: Effective }, strict),
        response: errors,
      },
    },
    async (req) => {
      if (typeof req.body !== 'string') {
        throw new HatangError('HATANG_ERR_UNSUPPORTED_MEDIA', 'send the CSV as text/csv');
      }
      const q = req.query as { effective?: string };
      const summary = importUnits(app.db, readUnitsCsv(req.body), {
        effectiveAt: effectiveAt(q.effective, now()),
        now: now(),
        source: 'api',
      });
      changed();
      return summary;
    },
  );

  app.put<{ Params: Static<typeof CodeParam>; Body: Static<typeof UnitBody> }>(
    `${P}/units/:code`,
    { schema: { tags, summary: 'Create or change one unit', params: CodeParam, body: UnitBody, response: errors } },
    async (req) => {
      const b = req.body;
      const summary = importUnits(
        app.db,
        [{ code: req.params.code, name: b.name, type: b.type ?? null, level: b.level, parentCode: b.parentCode }],
        { effectiveAt: effectiveAt(b.effective, now()), now: now(), source: 'api' },
      );
      changed();
      return { ...summary, unit: createUnitsRepo(app.db).get(req.params.code) };
    },
  );

  app.post<{ Params: Static<typeof CodeParam>; Body: Static<typeof RenameBody> }>(
    `${P}/units/:code/rename`,
    {
      schema: {
        tags,
        summary: 'Rename a unit; the old name stays for earlier periods',
        params: CodeParam,
        body: RenameBody,
      },
    },
    async (req) => {
      const u = renameUnit(app.db, req.params.code, req.body.name, {
        effectiveAt: effectiveAt(req.body.effective, now()),
        now: now(),
        source: 'api',
      });
      changed();
      return { unit: u };
    },
  );

  app.post<{ Body: Static<typeof MergeBody> }>(
    `${P}/units/merge`,
    { schema: { tags, summary: 'Merge units into one', body: MergeBody } },
    async (req) => {
      mergeUnits(app.db, req.body.from, req.body.into, {
        effectiveAt: effectiveAt(req.body.effective, now()),
        now: now(),
        source: 'api',
      });
      changed();
      return { merged: req.body.from, into: req.body.into };
    },
  );

  app.put<{ Params: Static<typeof CodeParam>; Body: Static<typeof GroupBody> }>(
    `${P}/groups/:code`,
    { schema: { tags, summary: 'Create or replace a named group of units', params: CodeParam, body: GroupBody } },
    async (req) => {
      const summary = saveGroup(
        app.db,
        { code: req.params.code, name: req.body.name, parentCode: req.body.parentCode, members: req.body.members },
        { effectiveAt: now(), now: now(), source: 'api' },
      );
      changed();
      return { ...summary, members: createUnitsRepo(app.db).membersOf(req.params.code) };
    },
  );

  app.get(`${P}/agents`, { schema: { tags, summary: 'Every agent (never tokens)' } }, async () => ({
    agents: createAgentsRepo(app.db).list(),
  }));

  app.post<{ Body: AgentBody }>(
    `${P}/agents`,
    {
      schema: {
        tags,
        summary: 'Register an agent; the answer carries its token, once',
        body: AgentBody,
        response: errors,
      },
    },
    async (req, reply) => {
      const { agent, token } = registerAgent(app.db, req.body, now());
      changed();
      return reply.code(201).send({ agent, token });
    },
  );

  app.patch<{ Params: Static<typeof AgentId>; Body: AgentBody }>(
    `${P}/agents/:id`,
    {
      schema: {
        tags,
        summary: "Change an agent's commune, access, ISP, plan speed or location",
        params: AgentId,
        body: AgentBody,
      },
    },
    async (req) => {
      const agent = updateAgent(app.db, req.params.id, req.body, now());
      changed();
      return { agent };
    },
  );

  app.post<{ Params: Static<typeof AgentId> }>(
    `${P}/agents/:id/revoke`,
    { schema: { tags, summary: "Revoke an agent's token; its results stay", params: AgentId } },
    async (req) => {
      if (!createRepo(app.db).revokeAgent(req.params.id, now())) {
        throw new HatangError('HATANG_ERR_NOT_FOUND', `no active agent ${req.params.id}`);
      }
      return { revoked: req.params.id };
    },
  );
}
