import { timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { CollectorConfig } from '@hatang/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './password.js';
import { type AccountStore, createAccountStore, sessionIdHash, type UserRole, type UserRow } from './store.js';

/**
 * Dashboard sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie (Secure over TLS),
 * the session itself in the `sessions` table (only the id's SHA-256 stored) with an idle timeout
 * and an absolute expiry, a per-session CSRF token for every POST form, and a login throttle.
 * Shared app-wide (fastify-plugin) so the stats API can accept a logged-in browser too.
 */

export const SESSION_COOKIE = 'hatang_session';
/** Double-submit token of the login form (there is no session yet to hold it). */
export const LOGIN_CSRF_COOKIE = 'hatang_login_csrf';
/** last_seen_at is written at most this often per session, ms (keeps page views read-only). */
const TOUCH_EVERY_MS = 60_000;
/** Expired sessions are purged at most this often, ms. */
const PURGE_EVERY_MS = 10 * 60_000;
/** Entries kept by the login throttle; the oldest go first past this. */
const THROTTLE_MAX_KEYS = 10_000;
/** One address may fail this many times the per-name limit, across names (an office behind one NAT). */
const THROTTLE_ADDRESS_FACTOR = 5;

export interface SessionUser {
  id: number;
  username: string;
  role: UserRole;
  scopeUnit: string | null;
  fullName: string | null;
  csrf: string;
  sessionHash: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    accounts: AccountStore;
    /** The logged-in dashboard user of this request, or undefined (looked up once per request). */
    sessionUser: (req: FastifyRequest) => SessionUser | undefined;
    /** Check a user name and password; starts a session and sets its cookie on success. */
    login: (
      req: FastifyRequest,
      reply: FastifyReply,
      username: string,
      password: string,
    ) => Promise<{ ok: true; user: UserRow } | { ok: false; reason: 'failed' | 'locked'; retryAfterS?: number }>;
    logout: (req: FastifyRequest, reply: FastifyReply) => void;
    /** True when `token` is this session's CSRF token (constant time). */
    csrfOk: (req: FastifyRequest, token: unknown) => boolean;
    /** Whether cookies are sent with the Secure flag for this request. */
    cookieSecure: (req: FastifyRequest) => boolean;
  }
  interface FastifyRequest {
    /** Cache for app.sessionUser(): null = looked up, nobody. */
    sessionUserCache: SessionUser | null | undefined;
  }
}

export interface SessionsOptions {
  config: CollectorConfig;
  now?: () => number;
}

export function sameToken(a: string, b: unknown): boolean {
  if (typeof b !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Failed-login counter per key; fixed window of loginLockoutMinutes. */
class LoginThrottle {
  #hits = new Map<string, { count: number; since: number }>();
  readonly #windowMs: number;
  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }
  /** Seconds until `key` may try again, or 0. */
  blockedFor(key: string, limit: number, now: number): number {
    const h = this.#hits.get(key);
    if (!h) return 0;
    if (now - h.since >= this.#windowMs) {
      this.#hits.delete(key);
      return 0;
    }
    return h.count >= limit ? Math.ceil((h.since + this.#windowMs - now) / 1000) : 0;
  }
  fail(key: string, now: number): void {
    const h = this.#hits.get(key);
    if (h && now - h.since < this.#windowMs) h.count++;
    else {
      this.#hits.delete(key);
      this.#hits.set(key, { count: 1, since: now });
      if (this.#hits.size > THROTTLE_MAX_KEYS) {
        const oldest = this.#hits.keys().next().value;
        if (oldest !== undefined) this.#hits.delete(oldest);
      }
    }
  }
  clear(key: string): void {
    this.#hits.delete(key);
  }
}

export const sessionsPlugin = fp(
  async (app: FastifyInstance, opts: SessionsOptions) => {
    const d = opts.config.dashboard;
    const now = opts.now ?? Date.now;
    const idleMs = d.sessionIdleMinutes * 60_000;
    const maxMs = d.sessionMaxHours * 3_600_000;
    const accounts = createAccountStore(app.db);
    const throttle = new LoginThrottle(d.loginLockoutMinutes * 60_000);
    let lastPurge = 0;

    if (!app.hasDecorator('parseCookie')) await app.register(fastifyCookie);
    app.decorate('accounts', accounts);
    app.decorateRequest('sessionUserCache', undefined);

    const cookieSecure = (req: FastifyRequest) =>
      d.cookieSecure === 'always' || (d.cookieSecure === 'auto' && req.protocol === 'https');
    app.decorate('cookieSecure', cookieSecure);

    const purge = (t: number) => {
      if (t - lastPurge < PURGE_EVERY_MS) return;
      lastPurge = t;
      accounts.purgeSessions(t, idleMs);
    };

    app.decorate('sessionUser', (req: FastifyRequest): SessionUser | undefined => {
      if (req.sessionUserCache !== undefined) return req.sessionUserCache ?? undefined;
      req.sessionUserCache = null;
      const id = req.cookies[SESSION_COOKIE];
      if (!id || id.length > 100) return undefined;
      const t = now();
      purge(t);
      const s = accounts.sessionById(id);
      if (!s) return undefined;
      if (s.expires_at <= t || s.last_seen_at + idleMs <= t) {
        accounts.deleteSession(s.id_hash);
        return undefined;
      }
      const u = accounts.userById(s.user_id);
      if (!u) return undefined;
      if (t - s.last_seen_at >= TOUCH_EVERY_MS) accounts.touchSession(s.id_hash, t);
      req.sessionUserCache = {
        id: u.id,
        username: u.username,
        role: u.role,
        scopeUnit: u.scope_unit,
        fullName: u.full_name,
        csrf: s.csrf,
        sessionHash: s.id_hash,
      };
      return req.sessionUserCache;
    });

    app.decorate('login', async (req: FastifyRequest, reply: FastifyReply, username: string, password: string) => {
      const t = now();
      const nameKey = `u:${username.toLowerCase()}|${req.ip}`;
      const ipKey = `ip:${req.ip}`;
      const wait = Math.max(
        throttle.blockedFor(nameKey, d.loginMaxFailures, t),
        throttle.blockedFor(ipKey, d.loginMaxFailures * THROTTLE_ADDRESS_FACTOR, t),
      );
      if (wait > 0) return { ok: false as const, reason: 'locked' as const, retryAfterS: wait };
      const user = accounts.userByName(username);
      // Verify against a dummy hash for unknown names so the answer takes as long either way.
      const ok = await verifyPassword(password, user?.password ?? (await dummyHash()));
      if (!user || !ok) {
        throttle.fail(nameKey, t);
        throttle.fail(ipKey, t);
        req.log.info({ username: username.slice(0, 64), ip: req.ip }, 'dashboard login failed');
        return { ok: false as const, reason: 'failed' as const };
      }
      throttle.clear(nameKey);
      if (needsRehash(user.password)) accounts.setPassword(user.id, await hashPassword(password), t);
      // A fresh id on every login (no session fixation); any session this browser had ends.
      const old = req.cookies[SESSION_COOKIE];
      if (old) accounts.deleteSession(sessionIdHash(old));
      const { id } = accounts.createSession(user.id, t, maxMs);
      accounts.touchLogin(user.id, t);
      req.sessionUserCache = undefined;
      reply.setCookie(SESSION_COOKIE, id, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: cookieSecure(req),
        maxAge: Math.floor(maxMs / 1000),
      });
      req.log.info({ user: user.username }, 'dashboard login');
      return { ok: true as const, user };
    });

    app.decorate('logout', (req: FastifyRequest, reply: FastifyReply) => {
      const id = req.cookies[SESSION_COOKIE];
      if (id) accounts.deleteSession(sessionIdHash(id));
      req.sessionUserCache = null;
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: cookieSecure(req) });
    });

    app.decorate('csrfOk', (req: FastifyRequest, token: unknown) => {
      const u = app.sessionUser(req);
      return u !== undefined && sameToken(u.csrf, token);
    });
  },
  { name: 'hatang-sessions', dependencies: ['hatang-db'] },
);
