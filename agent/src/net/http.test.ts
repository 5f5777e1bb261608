import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingGetConnection, familyOf, serverTimingMs } from './http.js';

describe('serverTimingMs', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['app;dur=1.25', 1.25],
    ['recv;dur=900, app;dur=0.5', 0.5],
    ['app;desc="x";dur=2', 2],
    ['app;dur="3.5"', 3.5],
    ['app;dur=1, app;dur=2', 3],
    ['cfRequestDuration;dur=12', undefined],
    ['app;dur=abc', undefined],
    [['app;dur=1', 'app;dur=2'], 3],
  ])('%s → %s', (header, want) => {
    expect(serverTimingMs(header as string | string[] | undefined)).toBe(want);
  });
});

describe('familyOf', () => {
  it('tells IPv6 by its colons', () => {
    expect(familyOf('::1')).toBe(6);
    expect(familyOf('198.18.1.2')).toBe(4);
    expect(familyOf(undefined)).toBe(4);
  });
});

describe('CountingGetConnection (lean download client)', () => {
  let server: Server;
  let base: string;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/nolength') {
        res.write('chunked ');
        return res.end('body');
      }
      if (u.pathname === '/status') return res.writeHead(503, { 'content-length': '3' }).end('bad');
      if (u.pathname === '/slow') {
        res.writeHead(200, { 'content-length': '1000000' });
        res.write(Buffer.alloc(1000));
        return; // never finishes
      }
      const n = Number(u.searchParams.get('bytes'));
      res.writeHead(200, { 'content-length': String(n) });
      res.end(Buffer.alloc(n, 1));
    });
    server.on('connection', () => {
      connections++;
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('counts body bytes of successive requests on one kept-alive connection', async () => {
    const before = connections;
    const c = new CountingGetConnection(base, '4');
    let n = 0;
    for (const size of [1, 5_000_000, 70_000]) {
      await c.get(`/d?bytes=${size}`, new AbortController().signal, (k) => {
        n += k;
      });
    }
    expect(n).toBe(5_070_001);
    expect(c.family()).toBe(4);
    expect(connections - before).toBe(1);
    c.close();
  });

  it('rejects an HTTP error with HTTP_<status> without counting its body, and stays usable', async () => {
    const c = new CountingGetConnection(base, 'auto');
    let n = 0;
    await expect(c.get('/status', new AbortController().signal, (k) => (n += k))).rejects.toMatchObject({
      code: 'HTTP_503',
    });
    expect(n).toBe(0);
    await c.get('/d?bytes=10', new AbortController().signal, (k) => (n += k));
    expect(n).toBe(10);
    c.close();
  });

  it('refuses a body without Content-Length', async () => {
    const c = new CountingGetConnection(base, '4');
    await expect(c.get('/nolength', new AbortController().signal, () => {})).rejects.toMatchObject({
      code: 'BAD_RESPONSE',
    });
    c.close();
  });

  it('an abort mid-body rejects at once and closes the connection', async () => {
    const c = new CountingGetConnection(base, '4');
    const ac = new AbortController();
    let n = 0;
    const p = c.get('/slow', ac.signal, (k) => (n += k));
    await new Promise((r) => setTimeout(r, 100));
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(n).toBe(1000);
  });

  it('refuses https (undici handles it)', () => {
    expect(() => new CountingGetConnection('https://example.invalid', 'auto')).toThrow(/plain http/);
  });
});
