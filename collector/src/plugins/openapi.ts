import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { API_PREFIX } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// @fastify/swagger augments FastifySchema, but under pnpm its types cannot resolve 'fastify'
// (not its dependency), so the augmentation is repeated here.
declare module 'fastify/types/schema.js' {
  interface FastifySchema {
    tags?: readonly string[];
    summary?: string;
    description?: string;
    hide?: boolean;
    produces?: readonly string[];
  }
}

/**
 * OpenAPI 3 description of every route that declares a schema, at /docs (Swagger UI) and
 * /docs/json. Registered before the routes so it sees them all (fastify-swagger's onRoute hook).
 */
export const openapiPlugin = fp(
  async (app: FastifyInstance, opts: { version: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'hatang collector API',
          description: `Ingest, statistics, exports and administration. Normative text: docs/protocol.md. Versioned paths under ${API_PREFIX}.`,
          version: opts.version,
        },
        components: {
          securitySchemes: {
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description: 'Agent token (hat1_…) for ingest; admin token (hta1_…) for statistics, exports and admin.',
            },
          },
        },
        security: [{ bearer: [] }],
        tags: [
          { name: 'statistics', description: 'i-Speed-style figures per week or month, unit and access type' },
          { name: 'export', description: 'CSV downloads (UTF-8 with BOM, RFC 4180)' },
          { name: 'units', description: 'Administrative units (GSO codes) and groups' },
          { name: 'admin', description: 'Administration: units and agents (admin credential)' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: false } });
  },
  { name: 'hatang-openapi' },
);
