import type { AddressInfo } from 'node:net';
import {
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  type EchoAuth,
  echoKeyFromSecret,
  echoKeyFromTokenHash,
  HatangError,
  UDP_ECHO_HEADER_BYTES,
  UDP_ECHO_MAX_BYTES,
} from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { startUdpEcho, type TokenKeyLookup, type UdpEcho } from './echo.js';

export interface UdpEchoHandle {
  /** The echo runs (or will, once the HTTP server listens). */
  readonly enabled: boolean;
  /** Packet signatures this server accepts. */
  readonly auth: EchoAuth[];
  /** The running echo, once bound. */
  echo: UdpEcho | undefined;
  /** Why the echo could not start. */
  error: Error | undefined;
  /** Settles when the echo is bound (or disabled): the bound echo, or undefined. Rejects if binding failed. */
  ready: Promise<UdpEcho | undefined>;
}

declare module 'fastify' {
  interface FastifyInstance {
    udpEcho: UdpEchoHandle;
  }
}

export interface UdpPluginOptions {
  config: CollectorConfig;
  role: 'all' | 'speedtest';
}

/**
 * The UDP echo's lifecycle and discovery route. The socket binds when the HTTP server starts
 * listening (default: the same address and port number), never in buildApp, and closes with the
 * app. Role all accepts packets signed with an agent's token (and with `udp.secret` if set);
 * role speedtest has no agent database, so it needs `udp.secret`, or the echo stays off.
 */
export const udpPlugin = fp(
  async (app: FastifyInstance, opts: UdpPluginOptions) => {
    const cfg = { ...COLLECTOR_CONFIG_DEFAULTS.udp, ...opts.config.udp };
    const auth: EchoAuth[] = [];
    let tokenKey: TokenKeyLookup | undefined;
    if (opts.role === 'all' && app.hasDecorator('repo')) {
      auth.push('token');
      tokenKey = (id) => {
        const a = app.repo.agentByTokenId(id);
        return a && a.revoked_at === null ? echoKeyFromTokenHash(a.token_hash) : undefined;
      };
    }
    const secretKey = cfg.secret ? echoKeyFromSecret(cfg.secret) : undefined;
    if (secretKey) auth.push('secret');
    const enabled = cfg.enabled && auth.length > 0;
    if (cfg.enabled && !enabled) {
      app.log.warn(
        'UDP echo is off: a test point (role speedtest) needs udp.secret (HATANG_UDP_SECRET) to check packets',
      );
    }
    let settle!: { resolve: (e: UdpEcho | undefined) => void; reject: (e: Error) => void };
    const ready = new Promise<UdpEcho | undefined>((resolve, reject) => {
      settle = { resolve, reject };
    });
    ready.catch(() => {}); // observed through `error` and by whoever awaits `ready`
    const handle: UdpEchoHandle = { enabled, auth, echo: undefined, error: undefined, ready };
    app.decorate('udpEcho', handle);
    if (!enabled) settle.resolve(undefined);

    let started = false;
    app.addHook('onListen', async () => {
      if (!enabled || started) return;
      started = true;
      const http = app.server.address() as AddressInfo | null;
      const host = cfg.host ?? http?.address ?? opts.config.server.host;
      const port = cfg.port ?? http?.port ?? 0;
      try {
        handle.echo = await startUdpEcho({
          host,
          port,
          tokenKey,
          secretKey,
          keyRatePps: cfg.keyRatePps,
          keyBurst: cfg.keyBurst,
          ipRatePps: cfg.ipRatePps,
          globalRatePps: cfg.globalRatePps,
          log: app.log,
        });
        app.log.info({ address: handle.echo.address, port: handle.echo.port, auth }, 'UDP echo listening');
        settle.resolve(handle.echo);
      } catch (err) {
        handle.error = new HatangError(
          'HATANG_ERR_CONFIG',
          `UDP echo cannot bind ${host} port ${port}: ${(err as Error).message}`,
          {
            cause: err,
            hint: 'Free the port, set udp.port to another one, or turn the echo off with udp.enabled: false.',
          },
        );
        app.log.error({ err }, handle.error.message);
        settle.reject(handle.error);
      }
    });
    app.addHook('onClose', async () => {
      await handle.echo?.close();
    });

    app.get('/speed/udp', async (_req, reply) => {
      reply.header('cache-control', 'no-store');
      if (!enabled) {
        throw new HatangError('HATANG_ERR_NOT_FOUND', 'the UDP echo is off on this server', {
          hint: 'Packet-loss tests need a server with the UDP echo on (udp.enabled, and udp.secret on a test point).',
        });
      }
      if (!handle.echo) {
        throw new HatangError('HATANG_ERR_UNAVAILABLE', 'the UDP echo is not listening yet', {
          details: { retryAfterS: 1 },
        });
      }
      return {
        port: handle.echo.port,
        auth,
        headerBytes: UDP_ECHO_HEADER_BYTES,
        maxPacketBytes: UDP_ECHO_MAX_BYTES,
        keyRatePps: cfg.keyRatePps,
        keyBurst: cfg.keyBurst,
      };
    });
  },
  { name: 'hatang-udp-echo' },
);
