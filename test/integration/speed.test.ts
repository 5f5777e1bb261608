import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type ServerResponse } from 'node:http';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger, loadConfig, runProbe, speedProbe, systemClock } from '@hatang/agent';
import { startCollector, type TestCollector } from '@hatang/collector';
import {
  type AgentConfig,
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  type SpeedResult,
  UP_REQUEST_MAX_BYTES,
} from '@hatang/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const log = createLogger('silent');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-speed-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: TestCollector[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function collector(config?: Partial<CollectorConfig>, host?: string): Promise<TestCollector> {
  const c = await startCollector({
    config: { ...COLLECTOR_CONFIG_DEFAULTS, ...config },
    ...(host ? { host } : {}),
  });
  open.push(c);
  return c;
}

function agentConfig(url: string, env: Record<string, string> = {}, extra: Partial<AgentConfig> = {}): AgentConfig {
  const cfg = loadConfig({
    env: { HATANG_COLLECTOR_URL: url, HATANG_STATE_DIR: dir, HATANG_SPEED_WINDOW_MS: '1500', ...env },
  });
  return { ...cfg, ...extra };
}

async function speed(config: AgentConfig): Promise<SpeedResult> {
  return (await runProbe(speedProbe, { config, clock: systemClock(), log, timeoutMs: 60_000 })) as SpeedResult;
}

describe('speed test against a loopback collector', () => {
  it('measures download, upload (as the server received it), idle and loaded latency, RPM and CPU', async () => {
    const c = await collector();
    const before = c.app.speedStats.bytesReceived;
    const r = await speed(agentConfig(c.url));
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.network.family).toBe(4);
    expect(r.server).toEqual({ id: 'collector', url: c.url });
    const s = r.speed!;
    expect(s.familyPreference).toBe('auto');
    expect(s.idle?.samples).toBe(19); // 20 pings, the cold first one discarded
    for (const d of [s.download!, s.upload!]) {
      expect(d.bps).toBeGreaterThan(1e6);
      // loopback runs at Gbit/s: the 250 MB cap may come before the 1.5 s window
      expect(['window', 'cap-bytes']).toContain(d.stopReason);
      expect(d.loaded?.samples).toBeGreaterThanOrEqual(1);
      expect(d.loaded!.medianMs).toBeGreaterThan(0);
      expect(d.warmupMs).toBeGreaterThan(0);
    }
    expect(s.download!.streams).toBe(8);
    expect(s.upload!.streams).toBe(4);
    expect(s.upload!.serverMeasured).toBe(true);
    // Nothing sent in the window is lost: the server's own counter saw exactly what was reported,
    // and what the agent handed to its sockets (bytesUsed − download) equals what arrived.
    expect(c.app.speedStats.bytesReceived - before).toBe(s.upload!.bytes);
    expect(r.bytesUsed - s.download!.bytes).toBe(s.upload!.bytes);
    expect(s.rpm).toBeGreaterThan(0);
    expect(s.cpu!.eventLoopPct).toBeGreaterThan(0);
    expect(typeof r.agentLimited).toBe('boolean');
    expect(c.app.speedStats.active).toBe(0);
  });

  it('runs over IPv6 when the server is on ::1, and records family 6', async (t) => {
    let c: TestCollector;
    try {
      c = await collector(undefined, '::1');
    } catch {
      t.skip(); // no IPv6 loopback on this machine
      return;
    }
    const r = await speed(agentConfig(c.url, { HATANG_SPEED_FAMILY: '6', HATANG_SPEED_WINDOW_MS: '1000' }));
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.network.family).toBe(6);
    expect(r.speed?.familyPreference).toBe('6');
  });

  it('records the family actually used, beside the one asked for', async () => {
    const c = await collector();
    // An IPv4 literal decides the family whatever the preference: the result says 4, asked 6.
    const r = await speed(agentConfig(c.url, { HATANG_SPEED_FAMILY: '6', HATANG_SPEED_WINDOW_MS: '1000' }));
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.network.family).toBe(4);
    expect(r.speed?.familyPreference).toBe('6');
  });

  it('never moves more than the byte cap, and stops with cap-bytes', async () => {
    const c = await collector();
    const cap = 3_000_000;
    const before = c.app.speedStats.bytesSent;
    const r = await speed(agentConfig(c.url, { HATANG_SPEED_CAP_BYTES: String(cap), HATANG_SPEED_WINDOW_MS: '5000' }));
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.speed?.download?.stopReason).toBe('cap-bytes');
    expect(r.speed?.upload?.stopReason).toBe('cap-bytes');
    expect(r.speed!.download!.bytes).toBeLessThanOrEqual(cap);
    expect(r.speed!.upload!.bytes).toBeLessThanOrEqual(cap);
    expect(c.app.speedStats.bytesSent - before).toBeLessThanOrEqual(cap); // the server was never asked for more
    expect(r.bytesUsed).toBeLessThanOrEqual(2 * cap);
  });

  it('metered profile applies its own cap and stop rule (the stable stop itself: speed-shaped.test.ts)', async () => {
    const c = await collector();
    const r = await speed(
      agentConfig(c.url, {
        HATANG_SPEED_PROFILE: 'metered',
        HATANG_SPEED_WINDOW_MS: '6000',
        HATANG_SPEED_METERED_CAP_BYTES: '200000000',
      }),
    );
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.speed?.profile).toBe('metered');
    for (const d of [r.speed!.download!, r.speed!.upload!]) {
      expect(['stable', 'cap-bytes']).toContain(d.stopReason);
      expect(d.bytes).toBeLessThanOrEqual(200_000_000);
      expect(d.durationMs).toBeLessThan(6000);
    }
  });

  it('picks the server with the lowest idle latency and records every candidate', async () => {
    const near = await collector();
    const far = await collector();
    const relay = await delayingRelay(new URL(far.url).port, 15);
    const dead = await closedPort();
    try {
      const cfg = agentConfig(
        near.url,
        { HATANG_SPEED_WINDOW_MS: '1000' },
        {
          servers: [
            { id: 'far', url: `http://127.0.0.1:${relay.port}` },
            { id: 'dead', url: `http://127.0.0.1:${dead}` },
            { id: 'near', url: near.url },
          ],
        },
      );
      const r = await speed(cfg);
      expect(r.status, JSON.stringify(r.error)).toBe('ok');
      expect(r.server?.id).toBe('near');
      const cands = r.speed!.candidates!;
      expect(cands.map((x) => x.id)).toEqual(['far', 'dead', 'near']);
      expect(cands[0]!.medianMs).toBeGreaterThan(cands[2]!.medianMs!);
      expect(cands[1]!.code).toBe('ECONNREFUSED');
    } finally {
      relay.server.close();
    }
  });

  it.each([
    ['HTTP_503', (res: ServerResponse) => res.writeHead(503, { 'content-length': '2' }).end('no')],
    ['BAD_RESPONSE', (res: ServerResponse) => res.writeHead(200).end('chunked, no length')],
  ])(
    'a server that fails downloads gives a %s error in the download phase, and upload still runs',
    async (code, answer) => {
      const real = await collector();
      const target = new URL(real.url);
      // Pings and uploads go to the real test point; downloads get the broken answer.
      const broken = createHttpServer((req, res) => {
        if (req.url?.startsWith('/speed/down')) return answer(res);
        const up = httpRequest(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        req.pipe(up);
      });
      await new Promise<void>((ok) => broken.listen(0, '127.0.0.1', ok));
      try {
        const url = `http://127.0.0.1:${(broken.address() as { port: number }).port}`;
        const r = await speed(agentConfig(url, { HATANG_SPEED_WINDOW_MS: '1000' }));
        expect(r.status).toBe('partial');
        expect(r.error).toMatchObject({ code, phase: 'download' });
        expect(r.speed?.download).toBeUndefined();
        expect(r.speed?.upload?.bps).toBeGreaterThan(0);
      } finally {
        broken.close();
      }
    },
  );

  it('with no server answering, the result is an error in the select or latency phase', async () => {
    const dead = await closedPort();
    const r = await speed(agentConfig(`http://127.0.0.1:${dead}`));
    expect(r.status).toBe('error');
    expect(r.error).toMatchObject({ code: 'ECONNREFUSED', phase: 'latency' });
    expect(r.bytesUsed).toBe(0);
  });
});

describe('speed-test endpoints', () => {
  it('serve exactly N incompressible, uncached, uncompressed bytes with Server-Timing', async () => {
    const c = await collector();
    const res = await fetch(`${c.url}/speed/down?bytes=1000000`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe('1000000');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect(res.headers.get('server-timing')).toMatch(/^app;dur=\d+\.\d+$/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(1_000_000);
    expect(gzipSync(body).length).toBeGreaterThan(0.99 * body.length);
  });

  it.each([
    ['', 'missing'],
    ['?bytes=0', 'got "0"'],
    ['?bytes=-5', 'got "-5"'],
    ['?bytes=1.5', 'got "1.5"'],
    ['?bytes=abc', 'got "abc"'],
    ['?bytes=1073741825', 'got "1073741825"'],
  ])('answer 400 naming the range for bytes%s', async (q, detail) => {
    const c = await collector();
    const res = await fetch(`${c.url}/speed/down${q}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('HATANG_ERR_OUT_OF_RANGE');
    expect(body.error.message).toContain('bytes must be an integer from 1 to 1073741824');
    expect(body.error.message).toContain(detail);
  });

  it('an upload answer carries bytes, server times and samples ending at [durationMs, bytes]', async () => {
    const c = await collector();
    const body = Buffer.alloc(3_000_000, 1);
    const res = await fetch(`${c.url}/speed/up`, { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(res.headers.get('server-timing')).toMatch(/recv;dur=.*app;dur=/);
    const a = (await res.json()) as { bytes: number; durationMs: number; samples: [number, number][] };
    expect(a.bytes).toBe(3_000_000);
    expect(a.samples.at(-1)).toEqual([a.durationMs, 3_000_000]);
    expect(a.samples.every(([t, b], i) => i === 0 || (t >= a.samples[i - 1]![0] && b >= a.samples[i - 1]![1]))).toBe(
      true,
    );
  });

  it('refuses an upload declared past maxUpBytes with 413 before reading it', async () => {
    const c = await collector({ speed: { ...COLLECTOR_CONFIG_DEFAULTS.speed, maxUpBytes: UP_REQUEST_MAX_BYTES } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${c.url}/speed/up`, {
        method: 'POST',
        headers: { 'content-length': String(UP_REQUEST_MAX_BYTES + 1) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1000));
    });
    expect(status).toBe(413);
  });

  it('cuts a chunked upload that runs past maxUpBytes with 413', async () => {
    const c = await collector({ speed: { ...COLLECTOR_CONFIG_DEFAULTS.speed, maxUpBytes: UP_REQUEST_MAX_BYTES } });
    const chunk = Buffer.alloc(1024 * 1024);
    // The server answers 413 and closes; a client still writing may see the reset before it
    // reads the answer. Either way the body was refused.
    const status = await new Promise<number | 'reset'>((resolve, reject) => {
      const req = httpRequest(`${c.url}/speed/up`, { method: 'POST' });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e) =>
        String(e).includes('EPIPE') || String(e).includes('ECONNRESET') ? resolve('reset') : reject(e),
      );
      let n = 0;
      const pump = () => {
        while (n < 80 && req.write(chunk)) n++;
        if (n < 80) req.once('drain', pump);
        else req.end();
      };
      pump();
    });
    expect([413, 'reset']).toContain(status);
  });

  it('answers 429 with Retry-After past maxConcurrentTransfers, and frees the slot when a transfer ends', async () => {
    const c = await collector({ speed: { ...COLLECTOR_CONFIG_DEFAULTS.speed, maxConcurrentTransfers: 1 } });
    const ac = new AbortController();
    const first = await fetch(`${c.url}/speed/down?bytes=500000000`, { signal: ac.signal });
    expect(first.status).toBe(200);
    const second = await fetch(`${c.url}/speed/down?bytes=1000`);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('2');
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('HATANG_ERR_RATE_LIMITED');
    ac.abort();
    await first.body?.cancel().catch(() => {});
    await waitFor(() => c.app.speedStats.active === 0);
    expect((await fetch(`${c.url}/speed/down?bytes=1000`)).status).toBe(200);
    expect(c.app.speedStats.refused).toBe(1);
  });

  it('ping is a 204 with Server-Timing and no caching', async () => {
    const c = await collector();
    const res = await fetch(`${c.url}/speed/ping`);
    expect(res.status).toBe(204);
    expect(res.headers.get('server-timing')).toMatch(/^app;dur=/);
    expect(res.headers.get('cache-control')).toContain('no-store');
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A TCP relay on 127.0.0.1:0 that delays every chunk each way by `delayMs`: a "far" server. */
async function delayingRelay(targetPort: string, delayMs: number): Promise<{ server: Server; port: number }> {
  const server = createServer((down) => {
    const up = tcpConnect(Number(targetPort), '127.0.0.1');
    const pipe = (from: typeof down, to: typeof down) =>
      from.on('data', (d) => setTimeout(() => to.writable && to.write(d), delayMs));
    pipe(down, up);
    pipe(up, down);
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}
