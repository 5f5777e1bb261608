import type { IncomingMessage } from 'node:http';
import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig, HatangError } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type Denial, type Lease, PublicLimits } from '../public/limits.js';

export type PublicLimitsConfig = CollectorConfig['public'];

/** What the public test endpoints (HTTP speed test, ndt7) share: one set of per-address limits. */
export interface PublicLimitsDecorator {
  readonly config: PublicLimitsConfig;
  readonly limits: PublicLimits;
  /**
   * The client's address: the TCP peer, or — when the peer is one of `public.trustedProxies` —
   * the X-Real-IP (else last X-Forwarded-For entry) it sets.
   */
  clientAddress(req: IncomingMessage): string | undefined;
  /** Ask for a slot for a transfer of up to `bytes` bytes from `addr` (see clientAddress). */
  acquire(addr: string | undefined, bytes?: number): { lease: Lease; key: string } | { denied: Denial };
  /** Bytes `addr` may still move this hour. */
  remaining(addr: string | undefined): number;
  /** The 429 a denial is answered with (HATANG_ERR_RATE_LIMITED, Retry-After). */
  error(d: Denial): HatangError;
  /** Denials so far, by reason (for tests and logs). */
  readonly refused: Record<Denial['reason'], number>;
}

declare module 'fastify' {
  interface FastifyInstance {
    publicLimits: PublicLimitsDecorator;
  }
}

/** Expand an IPv6 address to its 8 groups; undefined when it is not one. */
function ipv6Groups(a: string): string[] | undefined {
  const zone = a.indexOf('%');
  const s = zone >= 0 ? a.slice(0, zone) : a;
  if (!s.includes(':')) return undefined;
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  if (tail === undefined && h.length !== 8) return undefined;
  const fill = Array.from({ length: Math.max(0, 8 - h.length - t.length) }, () => '0');
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** An address as compared with trustedProxies: IPv4-mapped shown as IPv4, IPv6 lower-case. */
function clientKeyExact(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a.toLowerCase();
}

/**
 * The key limits are kept under: an IPv4 address (IPv4-mapped IPv6 shown as IPv4), or an IPv6
 * /64 — one home or office gets a whole /64, so counting single IPv6 addresses would let one
 * client rotate through 2^64 of them.
 */
export function clientKey(addr: string | undefined): string {
  const a = addr ?? 'unknown';
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  const g = ipv6Groups(a);
  return g ? `${g.slice(0, 4).join(':')}::/64` : a;
}

/**
 * Per-address concurrency and byte limits for the unauthenticated test endpoints, shared by the
 * speed-test routes and the ndt7 server (docs/security.md, docs/collector.md `public`). The client
 * address is the TCP peer, except behind a trusted reverse proxy (nginx on the same host by
 * default), whose X-Real-IP names the client — otherwise every client would share the proxy's.
 */
export const publicLimitsPlugin = fp(
  async (app: FastifyInstance, opts: { config: CollectorConfig; now?: () => number }) => {
    const config: PublicLimitsConfig = { ...COLLECTOR_CONFIG_DEFAULTS.public, ...opts.config.public };
    const limits = new PublicLimits({
      maxConcurrentPerIp: config.maxConcurrentPerIp,
      maxConcurrentTotal: config.maxConcurrentTotal,
      maxBytesPerIpPerHour: config.maxBytesPerIpPerHour,
      ...(opts.now ? { now: opts.now } : {}),
    });
    const trusted = new Set((config.trustedProxies ?? []).map(clientKeyExact));
    const refused: Record<Denial['reason'], number> = { 'ip-concurrency': 0, 'total-concurrency': 0, 'ip-bytes': 0 };
    const decorator: PublicLimitsDecorator = {
      config,
      limits,
      refused,
      clientAddress(req) {
        const peer = req.socket.remoteAddress;
        if (!peer || !trusted.has(clientKeyExact(peer))) return peer;
        const real = req.headers['x-real-ip'];
        const fromReal = (Array.isArray(real) ? real[0] : real)?.trim();
        if (fromReal) return fromReal.slice(0, 64);
        const xff = req.headers['x-forwarded-for'];
        const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').pop()?.trim();
        return last ? last.slice(0, 64) : peer;
      },
      acquire(addr, bytes = 0) {
        const key = clientKey(addr);
        const r = limits.acquire(key, bytes);
        if ('denied' in r) {
          refused[r.denied.reason]++;
          return r;
        }
        return { lease: r.lease, key };
      },
      remaining(addr) {
        return Math.max(0, config.maxBytesPerIpPerHour - limits.bytesInLastHour(clientKey(addr)));
      },
      error(d) {
        return new HatangError('HATANG_ERR_RATE_LIMITED', d.message, {
          hint:
            d.reason === 'ip-bytes'
              ? 'This address has used its hourly test data; retry after the time given.'
              : 'Retry after the time given, or use another test server.',
          details: { retryAfterS: d.retryAfterS, reason: d.reason },
        });
      },
    };
    app.decorate('publicLimits', decorator);
    // Forget idle addresses whose hour has passed, so memory follows active clients only.
    const sweeper = setInterval(() => limits.sweep(), 60_000);
    sweeper.unref();
    app.addHook('onClose', async () => clearInterval(sweeper));
  },
  { name: 'hatang-public-limits', dependencies: ['hatang-errors'] },
);
