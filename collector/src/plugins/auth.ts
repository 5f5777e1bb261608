import { HatangError } from '@hatang/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AgentRow } from '../storage/repo.js';
import { parseToken, secretMatches } from '../storage/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    agent: AgentRow | undefined;
  }
  interface FastifyInstance {
    /** preHandler: require a valid, unrevoked agent bearer token and set `req.agent`. */
    requireAgent: (req: FastifyRequest) => Promise<void>;
  }
}

const UNAUTHORIZED = (why: string) =>
  new HatangError('HATANG_ERR_UNAUTHORIZED', why, {
    hint: 'Enrol the agent again (hatang-agent enroll) or ask the province for a new token.',
  });

export const authPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('agent', undefined);
    app.decorate('requireAgent', async (req: FastifyRequest) => {
      const header = req.headers.authorization;
      if (!header) throw UNAUTHORIZED('missing Authorization: Bearer <agent token>');
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const parsed = m ? parseToken(m[1] as string) : undefined;
      if (!parsed) throw UNAUTHORIZED('malformed agent token');
      const agent = app.repo.agentByTokenId(parsed.tokenId);
      if (!agent || !secretMatches(parsed.secret, agent.token_hash)) throw UNAUTHORIZED('unknown agent token');
      if (agent.revoked_at !== null) throw UNAUTHORIZED('agent token revoked');
      req.agent = agent;
    });
  },
  { name: 'hatang-auth', dependencies: ['hatang-db'] },
);
