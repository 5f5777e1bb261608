import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { echoMacValid, makeEchoReply, parseEchoPacket, UDP_KEY_CACHE_MS } from '@hatang/shared';
import type { FastifyBaseLogger } from 'fastify';
import { RateLimiter } from './limiter.js';

/** Looks up the echo key of an agent token id (auth "token"); undefined when unknown or revoked. */
export type TokenKeyLookup = (tokenIdHex: string) => Buffer | undefined;

export interface UdpEchoOptions {
  host: string;
  port: number;
  /** Key for auth "token" packets; absent on a test point (role speedtest). */
  tokenKey?: TokenKeyLookup | undefined;
  /** Key for auth "secret" packets (from `udp.secret`); absent when no secret is configured. */
  secretKey?: Buffer | undefined;
  keyRatePps: number;
  keyBurst: number;
  ipRatePps: number;
  globalRatePps: number;
  log?: FastifyBaseLogger | undefined;
  /** Wall clock for the reply's server time; injectable in tests. */
  now?: () => number;
}

/** Why packets were dropped, counted (for logs and metrics). */
export interface UdpEchoCounters {
  answered: number;
  malformed: number;
  unauthenticated: number;
  rateLimited: number;
}

export interface UdpEcho {
  readonly port: number;
  readonly address: string;
  readonly counters: UdpEchoCounters;
  close(): Promise<void>;
}

/**
 * The UDP echo (docs/protocol.md §4): answers each valid, authenticated request with a reply of
 * the same length, signed with the same key, within per-key, per-address and global rate limits.
 * Anything else is dropped silently (an echo must never answer what it cannot authenticate).
 */
export async function startUdpEcho(o: UdpEchoOptions): Promise<UdpEcho> {
  const family = o.host.includes(':') ? 'udp6' : 'udp4';
  const socket: Socket = createSocket({ type: family, reuseAddr: false });
  const counters: UdpEchoCounters = { answered: 0, malformed: 0, unauthenticated: 0, rateLimited: 0 };
  const perKey = new RateLimiter(o.keyRatePps, o.keyBurst);
  const perIp = new RateLimiter(o.ipRatePps, o.ipRatePps * 2);
  const global = new RateLimiter(o.globalRatePps, o.globalRatePps * 2, 1);
  const now = o.now ?? Date.now;
  const cache = new Map<string, { key: Buffer | undefined; until: number }>();

  function tokenKey(id: string, t: number): Buffer | undefined {
    if (!o.tokenKey) return undefined;
    const hit = cache.get(id);
    if (hit && hit.until > t) return hit.key;
    const key = o.tokenKey(id);
    if (cache.size > 100_000) cache.clear();
    cache.set(id, { key, until: t + UDP_KEY_CACHE_MS });
    return key;
  }

  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const t = performance.now();
    if (!global.take('*', t)) {
      counters.rateLimited++;
      return;
    }
    const p = parseEchoPacket(msg);
    if (typeof p === 'string' || p.type !== 'request') {
      counters.malformed++;
      return;
    }
    if (!perIp.take(rinfo.address, t)) {
      counters.rateLimited++;
      return;
    }
    const id = p.keyId.toString('hex');
    const key = p.auth === 'token' ? tokenKey(id, t) : o.secretKey;
    if (!key || !echoMacValid(msg, key)) {
      counters.unauthenticated++;
      return;
    }
    if (!perKey.take(`${p.auth}:${id}`, t)) {
      counters.rateLimited++;
      return;
    }
    counters.answered++;
    socket.send(makeEchoReply(msg, key, now()), rinfo.port, rinfo.address);
  });
  socket.on('error', (err) => o.log?.warn({ err }, 'udp echo socket error'));

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(o.port, o.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const addr = socket.address();
  return {
    port: addr.port,
    address: addr.address,
    counters,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
