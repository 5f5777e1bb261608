import { connect as tcpConnect } from 'node:net';
import { openDb, startCollector, type TestCollector } from '@hatang/collector';
import {
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  NDT7_EARLY_EXIT_BYTES,
  NDT7_INITIAL_MESSAGE_BYTES,
  NDT7_MAX_MESSAGE_BYTES,
  NDT7_MAX_SCALED_MESSAGE_BYTES,
  NDT7_MAX_TEXT_MESSAGE_BYTES,
  NDT7_SUBPROTOCOL,
  type Ndt7Measurement,
} from '@hatang/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

let c: TestCollector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

function configWith(ndt7: Partial<CollectorConfig['ndt7']>, role: 'all' | 'speedtest' = 'all'): CollectorConfig {
  return { ...COLLECTOR_CONFIG_DEFAULTS, role, ndt7: { ...COLLECTOR_CONFIG_DEFAULTS.ndt7, ...ndt7 } };
}

async function start(ndt7: Partial<CollectorConfig['ndt7']>, role: 'all' | 'speedtest' = 'all') {
  c = await startCollector({ config: configWith(ndt7, role), role });
  return c;
}

const wsUrl = (base: string, path: string) => base.replace(/^http/, 'ws') + path;

interface Opened {
  status: number;
  body: string;
  ws?: WebSocket;
  /** Everything the subtest sends, collected from the first frame on, and how it closes. */
  done?: Promise<Drained>;
}
interface Drained {
  sizes: number[];
  texts: Ndt7Measurement[];
  code: number;
  reason: string;
  ms: number;
}

/** Open a WebSocket and resolve with how the upgrade went: HTTP status and body, or the open socket. */
function open(url: string, protocols: string | string[] | undefined, headers: Record<string, string> = {}) {
  return new Promise<Opened>((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: false });
    // Listen before 'open': frames that arrive with the 101 are emitted at once.
    const sizes: number[] = [];
    const texts: Ndt7Measurement[] = [];
    const t0 = performance.now();
    ws.on('message', (data, isBinary) => {
      if (isBinary) sizes.push((data as Buffer).length);
      else texts.push(JSON.parse(String(data)));
    });
    const done = new Promise<Drained>((r) =>
      ws.on('close', (code, reason) =>
        r({ sizes, texts, code, reason: reason.toString(), ms: performance.now() - t0 }),
      ),
    );
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => resolve({ status: 101, body: '', ws, done }));
    ws.on('error', (err) => {
      if (ws.readyState !== WebSocket.OPEN) reject(err);
    });
  });
}

const drain = (o: Opened) => o.done!;

describe('ndt7 server: handshake', () => {
  it('refuses a missing subprotocol with 400 and says what is missing', async () => {
    const col = await start({});
    const r = await open(wsUrl(col.url, '/ndt/v7/download'), undefined);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toEqual({
      code: 'HATANG_ERR_VALIDATION',
      message: `missing Sec-WebSocket-Protocol: ${NDT7_SUBPROTOCOL}`,
    });
    expect(col.app.ndt7.stats).toMatchObject({ active: 0, started: 0, refused: { protocol: 1 } });
  });

  it('refuses a wrong subprotocol with 400', async () => {
    const col = await start({});
    const r = await open(wsUrl(col.url, '/ndt/v7/upload'), 'net.measurementlab.ndt.v5');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toContain('needs net.measurementlab.ndt.v7');
  });

  it('accepts the subprotocol among several and echoes it', async () => {
    const col = await start({ durationMs: 1000 });
    const r = await open(wsUrl(col.url, '/ndt/v7/download'), ['chat', NDT7_SUBPROTOCOL]);
    expect(r.status).toBe(101);
    expect(r.ws!.protocol).toBe(NDT7_SUBPROTOCOL);
    await drain(r);
  });

  it('answers a plain GET with a clear 400, and unknown upgrade paths with 404', async () => {
    const col = await start({});
    const res = await fetch(`${col.url}/ndt/v7/download`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toContain('ndt7 WebSocket endpoint');
    const r = await open(wsUrl(col.url, '/ndt/v7/other'), NDT7_SUBPROTOCOL);
    expect(r.status).toBe(404);
  });

  it('refuses a query string past 4096 bytes and an early_exit other than 250', async () => {
    const col = await start({});
    const long = await open(wsUrl(col.url, `/ndt/v7/download?x=${'a'.repeat(4095)}`), NDT7_SUBPROTOCOL);
    expect(long.status).toBe(400);
    expect(JSON.parse(long.body).error.message).toBe('query string is 4097 bytes; ndt7 allows at most 4096');
    const ee = await open(wsUrl(col.url, '/ndt/v7/download?early_exit=1'), NDT7_SUBPROTOCOL);
    expect(ee.status).toBe(400);
    expect(col.app.ndt7.stats.refused.query).toBe(2);
  });
});

describe('ndt7 server: download', () => {
  it('sends ConnectionInfo first, scales binary messages from 2^13, stops at the duration, stores metadata', async () => {
    const col = await start({ durationMs: 1500 });
    const r = await open(
      wsUrl(col.url, '/ndt/v7/download?client_name=probe-test&dup=1&dup=2&server_x=no'),
      NDT7_SUBPROTOCOL,
      { 'user-agent': 'ndt7-protocol-test/1' },
    );
    const d = await drain(r);
    expect(d.code).toBe(1000);
    expect(d.ms).toBeGreaterThan(1400);
    expect(d.ms).toBeLessThan(4000);
    const first = d.texts[0]!;
    expect(first.ConnectionInfo?.UUID).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.ConnectionInfo?.Client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(first).toMatchObject({ Origin: 'server', Test: 'download', AppInfo: { NumBytes: 0 } });
    // Measurements are JSON with growing AppInfo; about 4 a second (Poisson, mean 250 ms).
    expect(d.texts.length).toBeGreaterThanOrEqual(3);
    expect(d.texts.length).toBeLessThanOrEqual(1.5 * 4 * 4);
    const last = d.texts.at(-1)!;
    expect(last.AppInfo!.NumBytes).toBeGreaterThan(0);
    expect(last.AppInfo!.ElapsedTime).toBeGreaterThan(1_400_000);
    // Message sizes: start at 2^13, only powers of two, never past 2^20, and they grow.
    expect(d.sizes[0]).toBe(NDT7_INITIAL_MESSAGE_BYTES);
    expect(d.sizes.every((s) => s >= NDT7_INITIAL_MESSAGE_BYTES && s <= NDT7_MAX_SCALED_MESSAGE_BYTES)).toBe(true);
    expect(d.sizes.every((s) => Number.isInteger(Math.log2(s)))).toBe(true);
    expect(Math.max(...d.sizes)).toBeGreaterThan(NDT7_INITIAL_MESSAGE_BYTES);
    // Doubling only while the size is at most 1/16 of what was sent before it.
    let sent = 0;
    for (const s of d.sizes) {
      if (s > NDT7_INITIAL_MESSAGE_BYTES && sent > 0) expect(s / 2).toBeLessThanOrEqual(sent / 16);
      sent += s;
    }
    await col.app.ndt7.idle();
    const row = col.app.db.prepare('SELECT * FROM ndt7_tests WHERE uuid = ?').get(first.ConnectionInfo!.UUID) as any;
    expect(row).toMatchObject({ test: 'download', end_reason: 'duration', close_code: 1000, family: 4 });
    expect(JSON.parse(row.metadata)).toEqual({ client_name: 'probe-test', dup: '1' });
    expect(row.user_agent).toBe('ndt7-protocol-test/1');
    expect(row.app_bytes).toBe(sent);
    expect(row.server_bps).toBeGreaterThan(0);
  });

  it('answers pings with pongs during a test', async () => {
    const col = await start({ durationMs: 1000 });
    const r = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL);
    const ws = r.ws!;
    const done = drain(r);
    const pong = new Promise<string>((res) => ws.once('pong', (d) => res(d.toString())));
    ws.ping('hatang');
    expect(await pong).toBe('hatang');
    await done;
  });

  it('closes with 1003 and a reason when the client sends binary data during download', async () => {
    const col = await start({ durationMs: 5000 });
    const r = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL);
    const d = drain(r);
    r.ws!.send(Buffer.alloc(1024));
    const res = await d;
    expect(res.code).toBe(1003);
    expect(res.reason).toBe('ndt7: binary messages are not allowed during download');
    expect(res.ms).toBeLessThan(3000);
    await col.app.ndt7.idle();
    expect(col.app.db.prepare('SELECT end_reason FROM ndt7_tests').get()).toEqual({ end_reason: 'protocol-error' });
  });

  it('ends early with early_exit=250 once 250 MB are acknowledged', async () => {
    const col = await start({ durationMs: 15_000, maxDurationMs: 15_000 });
    const r = await open(wsUrl(col.url, '/ndt/v7/download?early_exit=250'), NDT7_SUBPROTOCOL);
    const res = await drain(r);
    const bytes = res.sizes.reduce((a, b) => a + b, 0);
    expect(res.code).toBe(1000);
    expect(bytes).toBeGreaterThanOrEqual(NDT7_EARLY_EXIT_BYTES);
    // Stopped at the mark (within what was in flight), not at the 15 s limit.
    expect(bytes).toBeLessThan(NDT7_EARLY_EXIT_BYTES + 8 * NDT7_MAX_SCALED_MESSAGE_BYTES);
    expect(res.ms).toBeLessThan(14_000);
    await col.app.ndt7.idle();
    expect(col.app.db.prepare('SELECT end_reason FROM ndt7_tests').get()).toEqual({ end_reason: 'early-exit' });
  });
});

describe('ndt7 server: upload and limits', () => {
  it('counts what it receives and sends measurements during upload', async () => {
    const col = await start({ durationMs: 1500 });
    const r = await open(wsUrl(col.url, '/ndt/v7/upload'), NDT7_SUBPROTOCOL);
    const ws = r.ws!;
    const d = drain(r);
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const timer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 1 << 20) {
        ws.send(chunk);
        sent += chunk.length;
      }
    }, 1);
    const res = await d;
    clearInterval(timer);
    expect(res.code).toBe(1000);
    expect(res.sizes).toEqual([]); // the server sends no binary data during upload
    const last = res.texts.at(-1)!;
    expect(last.Test).toBe('upload');
    expect(last.AppInfo!.NumBytes).toBeGreaterThan(0);
    expect(last.AppInfo!.NumBytes).toBeLessThanOrEqual(sent);
    await col.app.ndt7.idle();
    const row = col.app.db.prepare('SELECT app_bytes, end_reason FROM ndt7_tests').get() as any;
    expect(row.end_reason).toBe('duration');
    expect(row.app_bytes).toBeGreaterThanOrEqual(last.AppInfo!.NumBytes);
  });

  it('closes a text message over 64 KiB with 1009 and a reason', async () => {
    const col = await start({ durationMs: 5000 });
    const r = await open(wsUrl(col.url, '/ndt/v7/upload'), NDT7_SUBPROTOCOL);
    const d = drain(r);
    r.ws!.send('x'.repeat(NDT7_MAX_TEXT_MESSAGE_BYTES + 1));
    const res = await d;
    expect(res.code).toBe(1009);
    expect(res.reason).toBe(`ndt7: text message larger than ${NDT7_MAX_TEXT_MESSAGE_BYTES} bytes`);
  });

  it('closes an oversize message (> 2^24 bytes) with 1009 and a reason', async () => {
    const col = await start({ durationMs: 5000 });
    const r = await open(wsUrl(col.url, '/ndt/v7/upload'), NDT7_SUBPROTOCOL);
    const d = drain(r);
    r.ws!.send(Buffer.alloc(NDT7_MAX_MESSAGE_BYTES + 1));
    const res = await d;
    expect(res.code).toBe(1009);
    expect(res.reason).toBe(`ndt7: message larger than ${NDT7_MAX_MESSAGE_BYTES} bytes`);
    await col.app.ndt7.idle();
    expect(col.app.ndt7.stats.active).toBe(0);
  });

  it('drops a client that stops reading at the hard limit, and frees its slot', async () => {
    const col = await start({ maxConcurrent: 1, durationMs: 1000, maxDurationMs: 2000 });
    const port = new URL(col.url).port;
    // A raw client: completes the handshake, then never reads again.
    const sock = tcpConnect(Number(port), '127.0.0.1');
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    const t0 = performance.now();
    sock.write(
      'GET /ndt/v7/download HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${NDT7_SUBPROTOCOL}\r\n\r\n`,
    );
    const head = await new Promise<string>((r) => sock.once('data', (d) => r(d.toString('latin1'))));
    expect(head).toMatch(/^HTTP\/1\.1 101/);
    sock.pause();

    // While it hangs, the only slot is taken: the next client is told to come back later.
    await new Promise((r) => setTimeout(r, 300));
    expect(col.app.ndt7.stats.active).toBe(1);
    const busy = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL);
    expect(busy.status).toBe(503);
    expect(JSON.parse(busy.body).error.code).toBe('HATANG_ERR_RATE_LIMITED');

    await col.app.ndt7.idle();
    const freedAfter = performance.now() - t0;
    expect(freedAfter).toBeGreaterThan(1900);
    expect(freedAfter).toBeLessThan(4000);
    // The server dropped the connection (the client never closed it): reading again finds it gone.
    const closed = new Promise<boolean>((r) => sock.once('close', () => r(true)));
    sock.resume();
    expect(await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 3000))])).toBe(true);
    const row = col.app.db.prepare('SELECT end_reason FROM ndt7_tests').get() as any;
    expect(row.end_reason).toBe('hard-limit');

    // The slot is free again: a well-behaved client gets in.
    const next = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL);
    expect(next.status).toBe(101);
    await drain(next);
    sock.destroy();
  });
});

describe('ndt7 server: shutdown', () => {
  it('drops running subtests when the collector closes, and records them as shutdown', async () => {
    const col = await start({ durationMs: 10_000 });
    const r = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL);
    await new Promise((res) => setTimeout(res, 200));
    const t0 = performance.now();
    await col.app.close();
    expect(performance.now() - t0).toBeLessThan(3000);
    const d = await drain(r);
    expect(d.code).toBe(1006); // dropped, not closed politely
    // The record was written before the database closed with the app.
    const db = openDb({ path: col.dbPath, readonly: true });
    expect(db.prepare('SELECT end_reason FROM ndt7_tests').all()).toEqual([{ end_reason: 'shutdown' }]);
    db.close();
  });
});

describe('ndt7 server: token auth', () => {
  const STATIC = 'static-token-0123456789abcdef';

  it('refuses without a token or with a wrong one (401), accepts a static token or an agent token', async () => {
    const col = await start({ requireToken: true, tokens: [STATIC], durationMs: 1000 });
    const none = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('HATANG_ERR_UNAUTHORIZED');
    const wrong = await open(wsUrl(col.url, '/ndt/v7/download?access_token=nope'), NDT7_SUBPROTOCOL);
    expect(wrong.status).toBe(401);

    const viaQuery = await open(wsUrl(col.url, `/ndt/v7/download?access_token=${STATIC}&k=v`), NDT7_SUBPROTOCOL);
    expect(viaQuery.status).toBe(101);
    await drain(viaQuery);

    const agent = col.addAgent('commune-b');
    const viaBearer = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL, {
      authorization: `Bearer ${agent.token}`,
    });
    expect(viaBearer.status).toBe(101);
    await drain(viaBearer);

    await col.app.ndt7.idle();
    const rows = col.app.db.prepare('SELECT agent_id, metadata FROM ndt7_tests ORDER BY started_at').all() as any[];
    expect(rows).toHaveLength(2);
    // The token is never stored; the agent is recognised.
    expect(JSON.parse(rows[0].metadata)).toEqual({ k: 'v' });
    expect(rows[0].agent_id).toBeNull();
    expect(rows[1].agent_id).toBe(agent.id);
    expect(col.app.ndt7.stats.refused.auth).toBe(2);
  });
});

describe('ndt7 server: role speedtest', () => {
  it('serves ndt7 without a database', async () => {
    const col = await start({ durationMs: 1000 }, 'speedtest');
    expect(col.app.hasDecorator('db')).toBe(false);
    const r = await open(wsUrl(col.url, '/ndt/v7/download'), NDT7_SUBPROTOCOL);
    const d = await drain(r);
    expect(d.code).toBe(1000);
    expect(d.sizes.length).toBeGreaterThan(0);
    await col.app.ndt7.idle();
    expect(col.app.ndt7.stats).toMatchObject({ started: 1, finished: 1, active: 0 });
  });
});
