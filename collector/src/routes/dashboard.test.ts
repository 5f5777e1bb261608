import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig } from '@hatang/shared';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { parseCsv } from '../csv.js';
import { hashPassword } from '../dashboard/password.js';
import { LOGIN_CSRF_COOKIE, SESSION_COOKIE } from '../dashboard/sessions.js';
import { createAccountStore } from '../dashboard/store.js';
import { DASHBOARD_CSP, safeNext } from './dashboard.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const PASSWORD = 'correct horse battery';

async function setup(dashboard: Partial<CollectorConfig['dashboard']> = {}) {
  let clock = Date.parse('2025-03-12T07:00:00Z');
  const config: CollectorConfig = {
    ...COLLECTOR_CONFIG_DEFAULTS,
    dashboard: { ...COLLECTOR_CONFIG_DEFAULTS.dashboard, ...dashboard },
  };
  app = await buildApp({ dbPath: ':memory:', config, now: () => clock });
  await app.ready();
  createAccountStore(app.db).addUser(
    { username: 'tinh', passwordHash: await hashPassword(PASSWORD), role: 'admin', scopeUnit: null },
    clock,
  );
  return {
    app,
    advance(ms: number) {
      clock += ms;
    },
  };
}

function cookie(res: LightMyRequestResponse, name: string) {
  return res.cookies.find((c) => c.name === name);
}

async function loginForm(a: FastifyInstance) {
  const res = await a.inject({ url: '/login' });
  const c = cookie(res, LOGIN_CSRF_COOKIE);
  expect(c?.value).toBeTruthy();
  return c!.value;
}

async function login(a: FastifyInstance, password = PASSWORD, headers: Record<string, string> = {}) {
  const csrf = await loginForm(a);
  return a.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: `${LOGIN_CSRF_COOKIE}=${csrf}`, ...headers },
    payload: { username: 'tinh', password, _csrf: csrf, next: '/' },
  });
}

describe('dashboard login and sessions', () => {
  it('sends a visitor without a session to the login page, with the CSP and no caching', async () => {
    const { app } = await setup();
    const res = await app.inject({ url: '/?week=2025-W10' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2F%3Fweek%3D2025-W10');
    expect((await app.inject({ url: res.headers.location as string })).body).not.toContain('hết hạn');
    const page = await app.inject({ url: '/login' });
    expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('Đăng nhập');
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]+<\/script>|\sstyle="|\son\w+="/);
  });

  it('logs in with the right password: an HttpOnly SameSite=Lax cookie, stored only as a hash', async () => {
    const { app } = await setup();
    const res = await login(app);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
    const c = cookie(res, SESSION_COOKIE)!;
    expect(c.httpOnly).toBe(true);
    expect(c.sameSite).toBe('Lax');
    expect(c.secure).toBeUndefined();
    expect(c.maxAge).toBe(COLLECTOR_CONFIG_DEFAULTS.dashboard.sessionMaxHours * 3600);
    const rows = app.db.prepare('SELECT id_hash FROM sessions').all() as Array<{ id_hash: string }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id_hash).not.toBe(c.value);
    const page = await app.inject({ url: '/', headers: { cookie: `${SESSION_COOKIE}=${c.value}` } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Đăng xuất');
  });

  it('marks the cookie Secure when configured for TLS (dashboard.cookieSecure: always)', async () => {
    const { app } = await setup({ cookieSecure: 'always' });
    expect(cookie(await login(app), SESSION_COOKIE)!.secure).toBe(true);
  });

  it('refuses a wrong password with 401 and the same page, and a login POST without the form token with 403', async () => {
    const { app } = await setup();
    const bad = await login(app, 'wrong password!');
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toContain('Tên đăng nhập hoặc mật khẩu không đúng.');
    expect(cookie(bad, SESSION_COOKIE)).toBeUndefined();
    const forged = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { username: 'tinh', password: PASSWORD, _csrf: 'x'.repeat(32) },
    });
    expect(forged.statusCode).toBe(403);
    expect(cookie(forged, SESSION_COOKIE)).toBeUndefined();
  });

  it('pauses logins after loginMaxFailures failures, with Retry-After', async () => {
    const { app, advance } = await setup({ loginMaxFailures: 3, loginLockoutMinutes: 15 });
    for (let i = 0; i < 3; i++) expect((await login(app, 'nope nope nope')).statusCode).toBe(401);
    const locked = await login(app);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(cookie(locked, SESSION_COOKIE)).toBeUndefined();
    advance(15 * 60_000);
    expect((await login(app)).statusCode).toBe(303);
  });

  it('ends a session after the idle timeout and after the absolute expiry', async () => {
    const { app, advance } = await setup({ sessionIdleMinutes: 30, sessionMaxHours: 1 });
    const c = cookie(await login(app), SESSION_COOKIE)!.value;
    const get = () => app.inject({ url: '/', headers: { cookie: `${SESSION_COOKIE}=${c}` } });
    advance(20 * 60_000);
    expect((await get()).statusCode).toBe(200);
    advance(20 * 60_000); // 20 min since last use: still inside the 30 min idle limit
    expect((await get()).statusCode).toBe(200);
    advance(25 * 60_000); // 65 min since login: past the 1 h absolute expiry
    const ended = await get();
    expect(ended.statusCode).toBe(303);
    expect(ended.headers.location).toBe('/login?next=%2F&expired=1');
    const form = await app.inject({ url: ended.headers.location as string });
    expect(form.body).toContain('Phiên làm việc đã hết hạn');
    const c2 = cookie(await login(app), SESSION_COOKIE)!.value;
    advance(31 * 60_000);
    expect((await app.inject({ url: '/', headers: { cookie: `${SESSION_COOKIE}=${c2}` } })).statusCode).toBe(303);
  });

  it('logs out only with the session form token, and the session is gone afterwards', async () => {
    const { app } = await setup();
    const c = cookie(await login(app), SESSION_COOKIE)!.value;
    const headers = { cookie: `${SESSION_COOKIE}=${c}` };
    const page = await app.inject({ url: '/', headers });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(token).toBeTruthy();
    const forged = await app.inject({ method: 'POST', url: '/logout', headers, payload: { _csrf: 'nope' } });
    expect(forged.statusCode).toBe(403);
    expect((await app.inject({ url: '/', headers })).statusCode).toBe(200);
    const out = await app.inject({ method: 'POST', url: '/logout', headers, payload: { _csrf: token } });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/login?bye=1');
    expect((await app.inject({ url: '/', headers })).statusCode).toBe(303);
    expect(app.accounts.countSessions()).toBe(0);
  });

  it('exports a page table as CSV, and answers 404 for a table the page does not have', async () => {
    const { app } = await setup();
    const c = cookie(await login(app), SESSION_COOKIE)!.value;
    const headers = { cookie: `${SESSION_COOKIE}=${c}` };
    const csv = await app.inject({ url: '/agents?format=csv&table=agents', headers });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="hatang-agents.csv"');
    expect(csv.body.startsWith('\uFEFFTrạm đo,Xã/phường,Huyện,')).toBe(true);
    expect((await app.inject({ url: '/agents?format=csv&table=constructor', headers })).statusCode).toBe(404);
    expect((await app.inject({ url: '/agents?format=csv&table=nope', headers })).statusCode).toBe(404);
  });

  it('agents page: each agent’s outbox status, highlighted when it needs a look, the same in the CSV', async () => {
    const { app } = await setup();
    const now = Date.parse('2025-03-12T07:00:00Z');
    const add = (name: string) => app.repo.addAgent({ name, access: 'fixed' }, now - 30 * 86_400_000).agent.id;
    const lagging = add('<b>lagging</b>');
    const healthy = add('healthy');
    const refusing = add('refusing');
    const older = add('older agent');
    for (const id of [lagging, healthy, refusing, older]) app.repo.touchAgent(id, now - 60_000, '0.2.0');
    const st = { reportedAt: now - 60_000, oldestTrusted: true, dropped: 0 };
    app.repo.setAgentStatus(lagging, {
      ...st,
      queued: 37,
      oldestQueuedAt: now - 2 * 86_400_000,
      deadLetters: 0,
      dropped: 5,
    });
    app.repo.setAgentStatus(healthy, { ...st, queued: 0, oldestQueuedAt: null, oldestTrusted: null, deadLetters: 0 });
    app.repo.setAgentStatus(refusing, { ...st, queued: 1, oldestQueuedAt: now - 3_600_000, deadLetters: 2 });
    const c = cookie(await login(app), SESSION_COOKIE)!.value;
    const headers = { cookie: `${SESSION_COOKIE}=${c}` };
    const page = await app.inject({ url: '/agents', headers });
    expect(page.statusCode).toBe(200);
    // The name is text, never markup.
    expect(page.body).toContain('&lt;b&gt;lagging&lt;/b&gt;');
    expect(page.body).not.toContain('<b>lagging</b>');
    // Highlighted: a result waiting two days, and dead letters; not the healthy or the older agent.
    const rowOf = (name: string) =>
      new RegExp(`<tr([^>]*)><td[^>]*data-col="agent"[^>]*>${name}<`).exec(page.body)?.[1];
    expect(rowOf('&lt;b&gt;lagging&lt;/b&gt;')).toBe(' class="attention"');
    expect(rowOf('refusing')).toBe(' class="attention"');
    expect(rowOf('healthy')).toBe('');
    expect(rowOf('older agent')).toBe('');
    // The age, with its Vietnam time on hover.
    expect(page.body).toMatch(/data-col="oldest-queued" title="10\/03\/2025 14:00 \(UTC\+7\)">2 ngày</);
    const csv = parseCsv((await app.inject({ url: '/agents?format=csv&table=agents', headers })).body.slice(1));
    const head = csv[0]!.fields;
    // Grouped under the outbox heading, which the CSV header carries as "group: label".
    const cols = ['Chờ gửi', 'Chờ lâu nhất', 'Kết quả lỗi', 'Bị bỏ'].map((h) =>
      head.indexOf(`Hàng đợi tại trạm: ${h}`),
    );
    expect(cols.every((i) => i > 0)).toBe(true);
    const row = (name: string) => {
      const r = csv.find((x) => x.fields[0] === name)!.fields;
      return cols.map((i) => r[i]);
    };
    expect(row('<b>lagging</b>')).toEqual(['37', '2 ngày', '0', '5']);
    expect(row('healthy')).toEqual(['0', '', '0', '0']);
    expect(row('refusing')).toEqual(['1', '1 giờ', '2', '0']);
    // An agent that sends no status (an older version): no figures rather than zeros.
    expect(row('older agent')).toEqual(['', '', '', '']);
  });

  it('ends every session of a user whose password changes', async () => {
    const { app } = await setup();
    const c = cookie(await login(app), SESSION_COOKIE)!.value;
    const u = app.accounts.userByName('tinh')!;
    app.accounts.setPassword(u.id, await hashPassword('another long password'), Date.now());
    expect((await app.inject({ url: '/', headers: { cookie: `${SESSION_COOKIE}=${c}` } })).statusCode).toBe(303);
  });

  it('switches language with ?lang= and remembers it', async () => {
    const { app } = await setup();
    const en = await app.inject({ url: '/login?lang=en' });
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('Log in');
    const c = cookie(en, 'hatang_lang')!;
    expect(c.value).toBe('en');
    const again = await app.inject({ url: '/login', headers: { cookie: `hatang_lang=${c.value}` } });
    expect(again.body).toContain('<html lang="en">');
    const bogus = await app.inject({ url: '/login?lang=fr' });
    expect(bogus.body).toContain('<html lang="vi">');
  });

  it('serves the stylesheet, script and the chart library from this collector, nothing else from the vendor dir', async () => {
    const { app } = await setup();
    for (const p of ['/static/style.css', '/static/app.js', '/static/vendor/uPlot.iife.min.js']) {
      const r = await app.inject({ url: p });
      expect(r.statusCode, p).toBe(200);
    }
    expect((await app.inject({ url: '/static/vendor/package.json' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/static/../package.json' })).statusCode).toBe(404);
  });

  it('accepts only local paths as the page after login', () => {
    expect(safeNext('/district/116?week=2025-W10')).toBe('/district/116?week=2025-W10');
    for (const bad of ['//evil.example/', '/\\evil', 'https://evil.example/', 'javascript:alert(1)', '/login', 5]) {
      expect(safeNext(bad), String(bad)).toBeUndefined();
    }
  });
});
