import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type CollectorConfig,
  HatangError,
  NDT7_DOWNLOAD_PATH,
  NDT7_SUBPROTOCOL,
  NDT7_UPLOAD_PATH,
} from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createNdt7Server, type Ndt7Authorize, type Ndt7Server } from '../ndt7/server.js';
import { createNdt7Store } from '../ndt7/store.js';
import { parseToken, secretMatches } from '../storage/tokens.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The ndt7 server: live counters (`stats`) for metrics and tests. */
    ndt7: Ndt7Server;
  }
}

export interface Ndt7RoutesOptions {
  config: CollectorConfig;
  role: 'all' | 'speedtest';
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * ndt7 on the collector's own HTTP server (docs/ndt7.md, docs/protocol.md §4): both roles serve
 * it; role `all` also stores each subtest in ndt7_tests and accepts agent tokens when
 * `ndt7.requireToken` is set.
 */
export const ndt7Routes = fp(
  async (app: FastifyInstance, opts: Ndt7RoutesOptions) => {
    const hasDb = opts.role === 'all' && app.hasDecorator('db');
    const store = hasDb ? createNdt7Store(app.db) : undefined;
    const staticTokens = opts.config.ndt7?.tokens ?? [];
    const authorize: Ndt7Authorize = (token) => {
      if (!token) {
        return {
          ok: false,
          message: 'this ndt7 server needs a token: access_token query parameter or Authorization: Bearer',
        };
      }
      if (staticTokens.some((t) => sameSecret(t, token))) return { ok: true };
      const parsed = hasDb ? parseToken(token) : undefined;
      if (parsed) {
        const agent = app.repo.agentByTokenId(parsed.tokenId);
        if (agent && agent.revoked_at === null && secretMatches(parsed.secret, agent.token_hash)) {
          return { ok: true, agentId: agent.id };
        }
      }
      return { ok: false, message: 'unknown or revoked ndt7 token' };
    };
    const server = createNdt7Server({
      config: opts.config.ndt7,
      log: app.log.child({ component: 'ndt7' }),
      authorize,
      ...(app.hasDecorator('publicLimits')
        ? { admit: (req) => app.publicLimits.acquire(app.publicLimits.clientAddress(req)) }
        : {}),
      ...(store ? { onRecord: (r) => store.insert(r) } : {}),
    });
    app.decorate('ndt7', server);

    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (server.handleUpgrade(req, socket, head)) return;
      // Not ours: if nobody else listens for upgrades, answer rather than leave the socket hanging.
      if (app.server.listenerCount('upgrade') === 1) {
        socket.on('error', () => {});
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    app.server.on('upgrade', onUpgrade);
    app.addHook('preClose', async () => {
      app.server.off('upgrade', onUpgrade);
      await server.close();
    });

    // A plain GET (no Upgrade) gets a clear answer instead of a 404.
    for (const path of [NDT7_DOWNLOAD_PATH, NDT7_UPLOAD_PATH]) {
      app.get(path, async () => {
        throw new HatangError(
          'HATANG_ERR_VALIDATION',
          `${path} is an ndt7 WebSocket endpoint: connect with Upgrade: websocket and Sec-WebSocket-Protocol: ${NDT7_SUBPROTOCOL}`,
          { hint: 'Use an ndt7 client (hatang-agent test ndt7, or any M-Lab ndt7 client with this server).' },
        );
      });
    }
  },
  { name: 'hatang-ndt7', dependencies: ['hatang-errors'] },
);
