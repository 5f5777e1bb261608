import { HatangError } from '@hatang/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Scope, UnitTree } from '../geography/tree.js';
import { createAdminTokenRepo, looksLikeAdminToken } from '../storage/admin-tokens.js';

/**
 * Read access to statistics, exports and the admin API (docs/collector.md §Access).
 *
 * A request is resolved to a principal by the resolvers registered with `app.addReaderResolver`,
 * in order; the first that recognises the request's credential decides. Built in: admin bearer
 * tokens (`hatang-collector admin token create`) → `scope: 'all'`, admin. The dashboard adds
 * session cookies and unit-scoped viewers (`scope: { units: [codes] }`).
 *
 * Every stats and export route uses `app.requireReader` and checks each unit with
 * `app.canRead(req, code)`, so a district viewer never reads another district's data.
 */

export interface Principal {
  /** 'admin-token', 'session', … */
  kind: string;
  id: string;
  name: string;
  /** May use the admin API. */
  admin: boolean;
  scope: Scope;
}

/**
 * Recognise a credential: return the principal, undefined when the request carries no credential
 * of this kind, or throw HATANG_ERR_UNAUTHORIZED when it carries one that is wrong.
 */
export type ReaderResolver = (req: FastifyRequest) => Promise<Principal | undefined> | Principal | undefined;

declare module 'fastify' {
  interface FastifyRequest {
    /** What the reader may see; set by requireReader / requireAdmin. */
    scope: Scope | undefined;
    principal: Principal | undefined;
  }
  interface FastifyInstance {
    /** preHandler: any signed-in reader (admin token, or a resolver's credential); sets req.scope. */
    requireReader: (req: FastifyRequest) => Promise<void>;
    /** preHandler: an admin credential. */
    requireAdmin: (req: FastifyRequest) => Promise<void>;
    /** True when the request's scope covers the unit (walking parents; groups by their parent). */
    canRead: (req: FastifyRequest, unitCode: string) => boolean;
    /** Add a way to recognise readers (session cookies …); tried after those added before. */
    addReaderResolver: (fn: ReaderResolver) => void;
  }
}

const UNAUTHORIZED = (why: string) =>
  new HatangError('HATANG_ERR_UNAUTHORIZED', why, {
    hint: 'Sign in to the dashboard, or send Authorization: Bearer <admin token> (hatang-collector admin token create).',
  });

export const accessPlugin = fp(
  async (app: FastifyInstance) => {
    const tokens = createAdminTokenRepo(app.db);
    const resolvers: ReaderResolver[] = [];

    app.decorateRequest('scope', undefined);
    app.decorateRequest('principal', undefined);

    // Built in: admin bearer tokens.
    resolvers.push((req) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !looksLikeAdminToken(m[1] as string)) return undefined;
      const row = tokens.verify(m[1] as string, Date.now());
      if (!row) throw UNAUTHORIZED('unknown or revoked admin token');
      return { kind: 'admin-token', id: row.id, name: row.name, admin: true, scope: 'all' };
    });

    async function resolve(req: FastifyRequest): Promise<Principal> {
      if (req.principal) return req.principal;
      for (const r of resolvers) {
        const p = await r(req);
        if (p) {
          req.principal = p;
          req.scope = p.scope;
          return p;
        }
      }
      throw UNAUTHORIZED('no credential: this needs a signed-in reader or an admin token');
    }

    app.decorate('addReaderResolver', (fn: ReaderResolver) => {
      resolvers.push(fn);
    });
    app.decorate('requireReader', async (req: FastifyRequest) => {
      await resolve(req);
    });
    app.decorate('requireAdmin', async (req: FastifyRequest) => {
      const p = await resolve(req);
      if (!p.admin) throw new HatangError('HATANG_ERR_FORBIDDEN', 'this needs an admin credential');
    });
    // One unit tree per request: a route checking hundreds of units loads it once.
    const trees = new WeakMap<FastifyRequest, UnitTree>();
    app.decorate('canRead', (req: FastifyRequest, unitCode: string) => {
      let tree = trees.get(req);
      if (!tree) {
        tree = app.stats.tree();
        trees.set(req, tree);
      }
      return tree.canRead(req.scope, unitCode);
    });
  },
  { name: 'hatang-access', dependencies: ['hatang-db', 'hatang-stats'] },
);
