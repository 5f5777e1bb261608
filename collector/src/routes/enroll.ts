import {
  API_PREFIX,
  type CollectorConfig,
  EnrollRequest,
  type EnrollResponse,
  HatangError,
  Validator,
} from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { centralConfigFor, etagOf, ifNoneMatchHits } from '../agents/central-config.js';
import { createEnrollCodes } from '../agents/enroll-codes.js';

const enrollBody = new Validator(EnrollRequest);

export interface EnrollRouteOptions {
  config: CollectorConfig;
  now?: () => number;
}

/**
 * `POST /api/v1/enroll`: a one-time code → agent id + token.
 * `GET /api/v1/agent/config`: the agent's central config, with ETag / If-None-Match → 304.
 */
export async function enrollRoutes(app: FastifyInstance, opts: EnrollRouteOptions) {
  const now = opts.now ?? Date.now;
  const codes = createEnrollCodes(app.db);

  app.post(`${API_PREFIX}/enroll`, async (req, reply): Promise<EnrollResponse> => {
    const problem = enrollBody.explain(req.body);
    if (problem) throw new HatangError('HATANG_ERR_VALIDATION', `body ${problem}`);
    const body = req.body as EnrollRequest;
    const host = body.hostname?.slice(0, 255) ?? null;
    const { agent, token } = codes.redeem(body.code, now(), host);
    req.log.info({ agent: agent.id, name: agent.name, host, version: body.agentVersion }, 'agent enrolled');
    reply.header('cache-control', 'no-store');
    return {
      agentId: agent.id,
      token,
      name: agent.name,
      commune: agent.commune_code,
      access: agent.access,
      isp: agent.isp,
    };
  });

  app.get(`${API_PREFIX}/agent/config`, { preHandler: app.requireAgent }, async (req, reply) => {
    const doc = centralConfigFor(req.agent!, opts.config.agents);
    const body = JSON.stringify(doc);
    const etag = etagOf(body);
    reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (ifNoneMatchHits(req.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(body);
  });
}
