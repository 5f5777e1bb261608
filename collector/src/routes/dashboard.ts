import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import { type CollectorConfig, HatangError, isHatangError, MAX_PASSWORD_LENGTH } from '@hatang/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLang, type Lang } from '../dashboard/format.js';
import { translator } from '../dashboard/i18n.js';
import { type PageContext, type PageParts, renderPage } from '../dashboard/layout.js';
import { errorPage, loginPage } from '../dashboard/pages/login.js';
import { LOGIN_CSRF_COOKIE, SESSION_COOKIE, type SessionUser, sameToken } from '../dashboard/sessions.js';
import { VERSION } from '../version.js';

/**
 * The dashboard: server-rendered pages (no client framework), static CSS/JS and the chart library
 * served from this package, a strict content security policy (no inline scripts or styles), login
 * and logout with CSRF-protected forms. Pages and their data live in ../dashboard/pages/.
 */

/** Content-Security-Policy of every dashboard response: only this origin's files, no inline code. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const LANG_COOKIE = 'hatang_lang';

/** A rendered page: its parts, and the tables it shows (each downloadable as CSV). */
export interface PageResult {
  parts: PageParts;
  /** CSV of each table on the page, by table id (the first is the page's main table). */
  tables: Record<string, () => string>;
  /** File name stem for the CSV download, e.g. "district-116-2025-W11". */
  csvName: string;
}

export type PageHandler = (
  req: FastifyRequest,
  ctx: PageContext,
  user: SessionUser,
) => Promise<PageResult> | PageResult;

/** Hooks a page module gets: the context builder's extras (province name, targets, user's home). */
export interface DashboardHost {
  provinceName(): string;
  scopeName(user: SessionUser): string | undefined;
  targets(now: number): PageContext['targets'];
  home(user: SessionUser): string;
}

export interface DashboardRouteOptions {
  config: CollectorConfig;
  now?: () => number;
  host: DashboardHost;
  /** Pages to register, path → handler. */
  pages: Array<{ path: string; handler: PageHandler }>;
}

const webRoot = fileURLToPath(new URL('../../web/', import.meta.url));
const uplotDist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

/** A `next` target after login: a local path only (no scheme, no //host, no backslash tricks). */
export function safeNext(next: unknown): string | undefined {
  if (typeof next !== 'string' || next.length > 1000) return undefined;
  if (!/^\/(?![/\\])[^\s\\]*$/.test(next)) return undefined;
  if (next.startsWith('/login') || next.startsWith('/logout')) return undefined;
  return next;
}

export async function dashboardRoutes(app: FastifyInstance, opts: DashboardRouteOptions) {
  const now = opts.now ?? Date.now;
  const defaultLang: Lang = opts.config.dashboard.defaultLang;

  await app.register(formbody, { bodyLimit: 8 * 1024 });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('content-security-policy', DASHBOARD_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
    if (!req.url.startsWith('/static/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  await app.register(fastifyStatic, {
    root: webRoot,
    prefix: '/static/',
    decorateReply: false,
    index: false,
    maxAge: 3_600_000,
    allowedPath: (path) => !path.includes('..'),
  });
  await app.register(fastifyStatic, {
    root: uplotDist,
    prefix: '/static/vendor/',
    decorateReply: false,
    index: false,
    maxAge: 86_400_000,
    allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
  });

  const langOf = (req: FastifyRequest, reply: FastifyReply): Lang => {
    const q = (req.query as Record<string, unknown> | undefined)?.lang;
    if (isLang(q)) {
      reply.setCookie(LANG_COOKIE, q, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: app.cookieSecure(req),
        maxAge: 365 * 86_400,
      });
      return q;
    }
    const c = req.cookies[LANG_COOKIE];
    return isLang(c) ? c : defaultLang;
  };

  const contextOf = (req: FastifyRequest, reply: FastifyReply): PageContext => {
    const lang = langOf(req, reply);
    const user = app.sessionUser(req);
    const t0 = now();
    const scopeName = user ? opts.host.scopeName(user) : undefined;
    return {
      lang,
      t: translator(lang),
      url: req.url,
      user,
      now: t0,
      provinceName: opts.host.provinceName(),
      ...(scopeName ? { scopeName } : {}),
      version: VERSION,
      targets: opts.host.targets(t0),
    };
  };

  const send = (reply: FastifyReply, ctx: PageContext, parts: PageParts, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(renderPage(ctx, parts).value);

  // Errors on pages answer as pages (403/404 in the reader's language), not JSON.
  app.setErrorHandler((err: Error, req, reply) => {
    if (isHatangError(err) && (err.code === 'HATANG_ERR_FORBIDDEN' || err.code === 'HATANG_ERR_NOT_FOUND')) {
      const ctx = contextOf(req, reply);
      const status = err.code === 'HATANG_ERR_FORBIDDEN' ? 403 : 404;
      const home = ctx.user ? opts.host.home(ctx.user) : '/login';
      return send(reply, ctx, errorPage(ctx, status, home), status);
    }
    throw err;
  });

  const loginCsrf = (req: FastifyRequest, reply: FastifyReply): string => {
    const have = req.cookies[LOGIN_CSRF_COOKIE];
    if (have && /^[A-Za-z0-9_-]{32,64}$/.test(have)) return have;
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url');
    reply.setCookie(LOGIN_CSRF_COOKIE, token, {
      path: '/login',
      httpOnly: true,
      sameSite: 'strict',
      secure: app.cookieSecure(req),
    });
    return token;
  };

  app.get('/login', async (req, reply) => {
    const ctx = contextOf(req, reply);
    const q = req.query as Record<string, unknown>;
    const next = safeNext(q.next) ?? '/';
    if (ctx.user) return reply.redirect(next, 303);
    const message =
      q.bye !== undefined
        ? ({ key: 'logout.done', kind: 'info' } as const)
        : q.expired !== undefined
          ? ({ key: 'login.expired', kind: 'info' } as const)
          : undefined;
    return send(reply, ctx, loginPage(ctx, { csrf: loginCsrf(req, reply), next, ...(message ? { message } : {}) }));
  });

  app.post('/login', async (req, reply) => {
    const ctx = contextOf(req, reply);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next) ?? '/';
    const username = typeof body.username === 'string' ? body.username.trim().slice(0, 64) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, MAX_PASSWORD_LENGTH + 1) : '';
    const cookieToken = req.cookies[LOGIN_CSRF_COOKIE];
    if (!cookieToken || !sameToken(cookieToken, body._csrf)) {
      return send(
        reply,
        ctx,
        loginPage(ctx, {
          csrf: loginCsrf(req, reply),
          next,
          username,
          message: { key: 'login.csrf', kind: 'error' },
        }),
        403,
      );
    }
    const r = await app.login(req, reply, username, password);
    if (r.ok) {
      reply.clearCookie(LOGIN_CSRF_COOKIE, { path: '/login' });
      const home = next === '/' ? opts.host.home(userOf(r.user)) : next;
      return reply.redirect(home, 303);
    }
    if (r.reason === 'locked') reply.header('retry-after', String(r.retryAfterS ?? 60));
    return send(
      reply,
      ctx,
      loginPage(ctx, {
        csrf: cookieToken,
        next,
        username,
        message:
          r.reason === 'locked'
            ? {
                key: 'login.locked',
                params: { minutes: Math.max(1, Math.ceil((r.retryAfterS ?? 60) / 60)) },
                kind: 'error',
              }
            : { key: 'login.failed', kind: 'error' },
      }),
      r.reason === 'locked' ? 429 : 401,
    );
  });

  app.post('/logout', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (app.sessionUser(req) && !app.csrfOk(req, body._csrf)) {
      throw new HatangError('HATANG_ERR_FORBIDDEN', 'logout form token does not match this session');
    }
    app.logout(req, reply);
    return reply.redirect('/login?bye=1', 303);
  });

  for (const p of opts.pages) {
    app.get(p.path, async (req, reply) => {
      const user = app.sessionUser(req);
      if (!user) {
        // "Your session has ended" only for a browser that had one.
        const expired = req.cookies[SESSION_COOKIE] ? '&expired=1' : '';
        return reply.redirect(`/login?next=${encodeURIComponent(req.url)}${expired}`, 303);
      }
      // The province overview is for province-wide readers; others start at their own unit.
      if (p.path === '/') {
        const home = opts.host.home(user);
        if (home !== '/') return reply.redirect(home, 303);
      }
      const ctx = contextOf(req, reply);
      const t0 = performance.now();
      const result = await p.handler(req, ctx, user);
      const q = req.query as Record<string, unknown>;
      if (q.format === 'csv') {
        // ?table= names one of the page's tables (default: its main one); any other name is 404.
        const name = q.table === undefined ? Object.keys(result.tables)[0] : typeof q.table === 'string' ? q.table : '';
        if (name !== undefined && !Object.hasOwn(result.tables, name)) {
          throw new HatangError('HATANG_ERR_NOT_FOUND', `this page has no table "${name.slice(0, 40)}"`);
        }
        const csv = name ? result.tables[name] : undefined;
        if (!csv || !name) throw new HatangError('HATANG_ERR_NOT_FOUND', 'this page has no table to export');
        const file = `hatang-${result.csvName}${Object.keys(result.tables).length > 1 ? `-${name}` : ''}.csv`.replace(
          /[^A-Za-z0-9._-]/g,
          '_',
        );
        const body = csv();
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${file}"`)
          .header('server-timing', `page;dur=${(performance.now() - t0).toFixed(1)}`)
          .send(body);
      }
      const page = renderPage(ctx, result.parts).value;
      // Time to gather the figures and render the page (docs/benchmarks.md measures it).
      reply.header('server-timing', `page;dur=${(performance.now() - t0).toFixed(1)}`);
      return reply.code(200).type('text/html; charset=utf-8').send(page);
    });
  }
}

function userOf(u: { id: number; username: string; role: 'viewer' | 'admin'; scope_unit: string | null }): SessionUser {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    scopeUnit: u.scope_unit,
    fullName: null,
    csrf: '',
    sessionHash: '',
  };
}
