import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocateError, locateNdt7, parseLocateBody, withoutQuery } from './locate.js';

/** A stand-in for M-Lab's locate service on 127.0.0.1:0 that answers from a script. */
async function standIn(script: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const seen: { url: string; ua: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', ua: req.headers['user-agent'] });
    const step = script[Math.min(seen.length - 1, script.length - 1)]!;
    step(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/nearest/ndt/ndt7`;
  servers.push(server);
  return { url, seen };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const result = (machine: string, scheme: 'ws' | 'wss' | 'both' = 'both') => {
  const urls: Record<string, string> = {};
  for (const s of scheme === 'both' ? ['ws', 'wss'] : [scheme]) {
    urls[`${s}:///ndt/v7/download`] = `${s}://ndt-${machine}/ndt/v7/download?access_token=tok-${machine}-d`;
    urls[`${s}:///ndt/v7/upload`] = `${s}://ndt-${machine}/ndt/v7/upload?access_token=tok-${machine}-u`;
  }
  return { machine, location: { city: 'Hanoi', country: 'VN' }, urls };
};
const json =
  (body: unknown, status = 200) =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
const status =
  (code: number, headers: Record<string, string> = {}) =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(code, headers);
    res.end();
  };

describe('locate v2 against a local stand-in', () => {
  it('sends a meaningful User-Agent and client name, and keeps locate order with wss preferred', async () => {
    const s = await standIn([json({ results: [result('mlab1-hnd01'), result('mlab2-sin01', 'ws')] })]);
    const targets = await locateNdt7({
      url: s.url,
      userAgent: 'hatang-agent/9.9 (ndt7; test)',
      signal: new AbortController().signal,
      retries: 5,
      clientName: 'hatang-agent',
      clientVersion: '9.9',
    });
    expect(s.seen).toHaveLength(1);
    expect(s.seen[0]!.ua).toBe('hatang-agent/9.9 (ndt7; test)');
    expect(s.seen[0]!.url).toContain('client_name=hatang-agent');
    expect(targets.map((t) => [t.machine, t.downloadUrl.split('://')[0]])).toEqual([
      ['mlab1-hnd01', 'wss'],
      ['mlab2-sin01', 'ws'],
    ]);
    // Tokens stay in the URLs the client connects with…
    expect(targets[0]!.downloadUrl).toContain('access_token=tok-mlab1-hnd01-d');
    expect(targets[0]!.uploadUrl).toContain('access_token=tok-mlab1-hnd01-u');
    // …and never in what is stored or shown.
    expect(withoutQuery(targets[0]!.downloadUrl)).toBe('wss://ndt-mlab1-hnd01/ndt/v7/download');
  });

  it('backs off on 204 with the spec waits (60 s, 120 s ± 5 %), then uses the answer', async () => {
    const s = await standIn([status(204), status(204), json({ results: [result('mlab1-hnd01')] })]);
    const waits: number[] = [];
    const told: number[] = [];
    let u = 0;
    const targets = await locateNdt7({
      url: s.url,
      userAgent: 'ua',
      signal: new AbortController().signal,
      retries: 5,
      sleep: async (ms) => {
        waits.push(ms);
      },
      // Deterministic draws: z from (0.3, 0.1) and (0.7, 0.6).
      random: () => [0.3, 0.1, 0.7, 0.6][u++ % 4]!,
      onWait: (ms) => told.push(ms),
    });
    expect(targets).toHaveLength(1);
    expect(s.seen).toHaveLength(3);
    expect(waits).toEqual(told);
    expect(waits).toHaveLength(2);
    expect(waits[0]!).toBeGreaterThanOrEqual(60_000 * 0.8);
    expect(waits[0]!).toBeLessThanOrEqual(60_000 * 1.2);
    expect(waits[1]!).toBeGreaterThanOrEqual(120_000 * 0.8);
    expect(waits[1]!).toBeLessThanOrEqual(120_000 * 1.2);
    expect(waits[0]).not.toBe(60_000); // jitter applied
  });

  it('treats an empty result list like 204 and gives up after the configured retries', async () => {
    const s = await standIn([json({ results: [] })]);
    const waits: number[] = [];
    const err = await locateNdt7({
      url: s.url,
      userAgent: 'ua',
      signal: new AbortController().signal,
      retries: 2,
      sleep: async (ms) => {
        waits.push(ms);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocateError);
    expect((err as LocateError).code).toBe('NO_CAPACITY');
    expect(s.seen).toHaveLength(3);
    expect(waits).toHaveLength(2);
  });

  it('stops at once on 429 (rate limited) and reports Retry-After', async () => {
    const s = await standIn([status(429, { 'retry-after': '3600' })]);
    const err = (await locateNdt7({
      url: s.url,
      userAgent: 'ua',
      signal: new AbortController().signal,
      retries: 5,
      sleep: async () => {
        throw new Error('must not wait');
      },
    }).catch((e: unknown) => e)) as LocateError;
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryAfterS).toBe(3600);
    expect(s.seen).toHaveLength(1);
  });

  it('reports other statuses, bad JSON and an unreachable service with stable codes', async () => {
    const s500 = await standIn([status(500)]);
    const opts = { userAgent: 'ua', signal: new AbortController().signal, retries: 0 };
    expect(((await locateNdt7({ ...opts, url: s500.url }).catch((e) => e)) as LocateError).code).toBe('HTTP_500');
    const bad = await standIn([
      (_q, r) => {
        r.writeHead(200, { 'content-type': 'application/json' });
        r.end('{not json');
      },
    ]);
    expect(((await locateNdt7({ ...opts, url: bad.url }).catch((e) => e)) as LocateError).code).toBe(
      'LOCATE_BAD_ANSWER',
    );
    // A port that was just free: nothing listens there.
    const gone = await standIn([status(204)]);
    await new Promise((r) => servers.pop()!.close(r));
    expect(((await locateNdt7({ ...opts, url: gone.url }).catch((e) => e)) as LocateError).code).toBe(
      'LOCATE_UNREACHABLE',
    );
  });

  it('an abort during back-off ends the wait', async () => {
    const s = await standIn([status(204)]);
    const ac = new AbortController();
    const p = locateNdt7({ url: s.url, userAgent: 'ua', signal: ac.signal, retries: 5, onWait: () => ac.abort() });
    expect(((await p.catch((e) => e)) as LocateError).code).toBe('ABORTED');
  });
});

describe('locate body parsing', () => {
  it.each([
    { name: 'no results key', body: {}, n: 0 },
    { name: 'results not a list', body: { results: 'x' }, n: 0 },
    {
      name: 'a result without upload URL is skipped',
      body: { results: [{ urls: { 'wss:///ndt/v7/download': 'wss://a/x' } }] },
      n: 0,
    },
    {
      name: 'non-ws URLs are skipped',
      body: { results: [{ urls: { 'wss:///ndt/v7/download': 'http://a', 'wss:///ndt/v7/upload': 'http://b' } }] },
      n: 0,
    },
    {
      name: 'machine falls back to the host',
      body: { results: [{ urls: { 'ws:///ndt/v7/download': 'ws://h1/d', 'ws:///ndt/v7/upload': 'ws://h1/u' } }] },
      n: 1,
    },
  ])('$name', ({ body, n }) => {
    const t = parseLocateBody(body);
    expect(t).toHaveLength(n);
    if (n) expect(t[0]!.machine).toBe('h1');
  });
});
