import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { type Socket, connect as tcpConnect } from 'node:net';
import { startCollector, type TestCollector } from '@hatang/collector';
import {
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  echoKeyFromToken,
  encodeEchoPacket,
  NDT7_SUBPROTOCOL,
  PUBLIC_MAX_CONCURRENT_PER_IP,
  UP_REQUEST_MAX_BYTES,
} from '@hatang/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

/**
 * Abuse of the public, unauthenticated test endpoints (issue 11): per-address concurrency and byte
 * limits, huge requested sizes, oversized uploads, slow clients, ndt7 — against a real collector on
 * 127.0.0.1:0. A second client address is 127.0.0.2 (all of 127/8 is loopback on Linux).
 */

const open: TestCollector[] = [];
const sockets: { destroy(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function collector(pub: Partial<CollectorConfig['public']> = {}, more: Partial<CollectorConfig> = {}) {
  const c = await startCollector({
    config: {
      ...COLLECTOR_CONFIG_DEFAULTS,
      ...more,
      public: { ...COLLECTOR_CONFIG_DEFAULTS.public, ...pub },
    },
  });
  open.push(c);
  return c;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  res: IncomingMessage;
}

/** GET without reading the body (a client that stops reading holds its transfer open). */
function get(
  c: TestCollector,
  path: string,
  localAddress = '127.0.0.1',
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${c.url}${path}`, { agent: false, localAddress, headers });
    req.on('response', (res) => {
      sockets.push(res.socket);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, res });
    });
    req.on('error', reject);
    req.end();
  });
}

async function bodyOf(a: Answer): Promise<string> {
  const parts: Buffer[] = [];
  for await (const d of a.res) parts.push(d as Buffer);
  return Buffer.concat(parts).toString();
}

async function errorOf(a: Answer): Promise<{ code: string; message: string }> {
  return (JSON.parse(await bodyOf(a)) as { error: { code: string; message: string } }).error;
}

async function drain(a: Answer): Promise<number> {
  let n = 0;
  for await (const d of a.res) n += (d as Buffer).length;
  return n;
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw TCP client: send `head` (and optionally more), collect the answer, note when it closes. */
function raw(c: TestCollector) {
  const { port } = new URL(c.url);
  const sock: Socket = tcpConnect({ host: '127.0.0.1', port: Number(port) });
  sockets.push(sock);
  let text = '';
  sock.on('data', (d) => {
    text += d.toString('latin1');
  });
  sock.on('error', () => {});
  const t0 = performance.now();
  const closed = new Promise<number>((r) => sock.once('close', () => r(performance.now() - t0)));
  return {
    sock,
    closed,
    status: () => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
    text: () => text,
  };
}

function drainedOrClosed(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.on('drain', done);
    sock.on('close', done);
  });
}

const wsUrl = (c: TestCollector, path: string) => `${c.url.replace(/^http/, 'ws')}${path}`;

/** Open an ndt7 download from `localAddress`: 101 with the socket, or the refusal's status and body. */
function ndt7(c: TestCollector, localAddress = '127.0.0.1') {
  return new Promise<{ status: number; body: string; retryAfter?: string; ws?: WebSocket }>((resolve, reject) => {
    const ws = new WebSocket(wsUrl(c, '/ndt/v7/download'), NDT7_SUBPROTOCOL, {
      localAddress,
      perMessageDeflate: false,
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      sockets.push({ destroy: () => ws.terminate() });
      resolve({ status: 101, body: '', ws });
    });
    ws.on('error', (err) => {
      if (ws.readyState !== WebSocket.OPEN) reject(err);
    });
  });
}

describe('public test endpoints under abuse', () => {
  it(`refuses the ${PUBLIC_MAX_CONCURRENT_PER_IP + 1}th concurrent download from one address with 429; running ones and other addresses unaffected`, async () => {
    const c = await collector();
    const held = await Promise.all(
      Array.from({ length: PUBLIC_MAX_CONCURRENT_PER_IP }, () => get(c, '/speed/down?bytes=1000000000')),
    );
    expect(held.map((a) => a.status)).toEqual(held.map(() => 200));
    expect(c.app.publicLimits.limits.active()).toBe(PUBLIC_MAX_CONCURRENT_PER_IP);

    const extra = await get(c, '/speed/down?bytes=1000000');
    expect(extra.status).toBe(429);
    expect(extra.headers['retry-after']).toBe('5');
    const err = await errorOf(extra);
    expect(err.code).toBe('HATANG_ERR_RATE_LIMITED');
    expect(err.message).toContain(`at most ${PUBLIC_MAX_CONCURRENT_PER_IP} tests at once from one address`);
    // Uploads share the same slots.
    const up = await fetch(`${c.url}/speed/up`, { method: 'POST', body: Buffer.alloc(1000) });
    expect(up.status).toBe(429);

    // Another address is served in full.
    const other = await get(c, '/speed/down?bytes=2000000', '127.0.0.2');
    expect(other.status).toBe(200);
    expect(await drain(other)).toBe(2_000_000);

    // A held download still flows when its client reads again.
    const first = held[0] as Answer;
    let got = 0;
    for await (const d of first.res) {
      got += (d as Buffer).length;
      if (got > 8_000_000) break;
    }
    expect(got).toBeGreaterThan(8_000_000);

    // Slots come back when the clients go away.
    for (const a of held) a.res.destroy();
    await waitFor(() => c.app.publicLimits.limits.active() === 0 && c.app.speedStats.active === 0);
    const again = await get(c, '/speed/down?bytes=1000');
    expect(again.status).toBe(200);
    expect(await drain(again)).toBe(1000);
    expect(c.app.publicLimits.refused['ip-concurrency']).toBe(2);
  });

  it('keeps each address within its hourly byte budget, downloads and uploads counted together', async () => {
    const c = await collector({ maxBytesPerIpPerHour: 3_000_000 });
    const a = await get(c, '/speed/down?bytes=2000000');
    expect(a.status).toBe(200);
    expect(await drain(a)).toBe(2_000_000);
    await waitFor(() => c.app.speedStats.active === 0);

    // 2 MB served + 2 MB asked > 3 MB: refused before a byte is sent.
    const b = await get(c, '/speed/down?bytes=2000000');
    expect(b.status).toBe(429);
    expect(b.headers['retry-after']).toBe('600');
    const err = await errorOf(b);
    expect(err.code).toBe('HATANG_ERR_RATE_LIMITED');
    expect(err.message).toContain('data limit reached: 3000000 bytes per hour per address');

    // What is left may still be used; another address has its own budget.
    const small = await get(c, '/speed/down?bytes=500000');
    expect(small.status).toBe(200);
    expect(await drain(small)).toBe(500_000);
    const other = await get(c, '/speed/down?bytes=2000000', '127.0.0.2');
    expect(other.status).toBe(200);
    expect(await drain(other)).toBe(2_000_000);
    await waitFor(() => c.app.speedStats.active === 0);

    // 500 000 bytes left: an upload declaring more is refused before its body is read…
    const declared = await fetch(`${c.url}/speed/up`, { method: 'POST', body: Buffer.alloc(1_000_000) });
    expect(declared.status).toBe(429);
    // …and a chunked upload (no length) is cut off once it passes the budget, connection closed.
    const r = raw(c);
    r.sock.write('POST /speed/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 32 && !r.sock.destroyed; i++) {
      r.sock.write(`${chunk.length.toString(16)}\r\n`);
      r.sock.write(chunk);
      r.sock.write('\r\n');
      await new Promise((res) => setTimeout(res, 5));
    }
    await r.closed;
    expect(r.status()).toBe(429);
    expect(r.text()).toContain('HATANG_ERR_RATE_LIMITED');
    expect(c.app.publicLimits.limits.bytesInLastHour('127.0.0.1')).toBeLessThan(3_000_000 + 2 * 64 * 1024);
    await waitFor(() => c.app.publicLimits.limits.active() === 0);
  });

  it('refuses huge, negative and malformed sizes with 400 naming bytes, without taking a slot', async () => {
    const c = await collector();
    for (const q of ['1e15', '9007199254740993', '99999999999999999999', '-1', '0', '1.5', '0x10', '', 'abc']) {
      const a = await get(c, `/speed/down?bytes=${encodeURIComponent(q)}`);
      expect(a.status, q).toBe(400);
      const err = await errorOf(a);
      expect(err.code).toBe('HATANG_ERR_OUT_OF_RANGE');
      expect(err.message).toMatch(/^bytes must be an integer from 1 to \d+/);
    }
    const none = await get(c, '/speed/down');
    expect(none.status).toBe(400);
    expect((await errorOf(none)).message).toContain('(missing)');
    expect(c.app.publicLimits.limits.active()).toBe(0);
    expect(c.app.speedStats.downloads).toBe(0);
  });

  it('answers an upload past maxUpBytes with 413 and closes the connection, declared or chunked', async () => {
    const c = await collector({}, { speed: { ...COLLECTOR_CONFIG_DEFAULTS.speed, maxUpBytes: UP_REQUEST_MAX_BYTES } });
    const d = raw(c);
    d.sock.write(`POST /speed/up HTTP/1.1\r\nHost: x\r\nContent-Length: ${UP_REQUEST_MAX_BYTES + 1}\r\n\r\n`);
    d.sock.write(Buffer.alloc(64 * 1024));
    const dMs = await d.closed;
    expect(d.status()).toBe(413);
    expect(d.text()).toContain('HATANG_ERR_PAYLOAD_TOO_LARGE');
    expect(dMs).toBeLessThan(10_000);

    const k = raw(c);
    k.sock.write('POST /speed/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(1024 * 1024);
    // Send a little past the limit, then wait for the answer as a client would.
    for (let sent = 0; !k.sock.destroyed && sent < UP_REQUEST_MAX_BYTES + 2 * chunk.length; sent += chunk.length) {
      k.sock.write(`${chunk.length.toString(16)}\r\n`);
      k.sock.write(chunk);
      if (!k.sock.write('\r\n')) await drainedOrClosed(k.sock);
    }
    await k.closed;
    expect(k.status()).toBe(413);
    await waitFor(() => c.app.publicLimits.limits.active() === 0 && c.app.speedStats.active === 0);
  });

  it('cuts off a client that stops reading a download, or trickles an upload, at maxRequestSeconds and frees its slot', async () => {
    const c = await collector({ maxRequestSeconds: 2, maxConcurrentPerIp: 2 });
    const slow = raw(c);
    slow.sock.write('GET /speed/down?bytes=1000000000 HTTP/1.1\r\nHost: x\r\n\r\n');
    slow.sock.pause(); // never reads: the server's writes back up
    const trickle = raw(c);
    trickle.sock.write('POST /speed/up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
    const drip = setInterval(() => trickle.sock.writable && trickle.sock.write('x'), 200);
    try {
      await waitFor(() => c.app.publicLimits.limits.active() === 2, 5000);
      // Both slots of this address are held: a third request waits for nobody, it is refused.
      expect((await get(c, '/speed/down?bytes=1000')).status).toBe(429);
      // The server drops both at the time limit (with a reset: no orphaned socket buffers), and
      // their slots come back — whether or not the client ever notices.
      const t0 = performance.now();
      await waitFor(() => c.app.publicLimits.limits.active() === 0 && c.app.speedStats.active === 0);
      const ms = performance.now() - t0;
      expect(ms).toBeGreaterThan(1_000);
      expect(ms).toBeLessThan(8_000);
      expect(await trickle.closed).toBeLessThan(10_000);
    } finally {
      clearInterval(drip);
    }
    expect(c.app.speedStats.cutOff).toBe(2);
    const ok = await get(c, '/speed/down?bytes=1000');
    expect(ok.status).toBe(200);
    expect(await drain(ok)).toBe(1000);
  });

  it('limits ndt7 subtests per address with 429 and Retry-After, sharing slots with the HTTP speed test', async () => {
    const c = await collector(
      { maxConcurrentPerIp: 2 },
      { ndt7: { ...COLLECTOR_CONFIG_DEFAULTS.ndt7, maxConcurrent: 10 } },
    );
    const a = await ndt7(c);
    const b = await ndt7(c);
    expect([a.status, b.status]).toEqual([101, 101]);
    const third = await ndt7(c);
    expect(third.status).toBe(429);
    expect(third.retryAfter).toBe('5');
    const err = (JSON.parse(third.body) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('HATANG_ERR_RATE_LIMITED');
    expect(err.message).toContain('at most 2 tests at once from one address');
    expect(c.app.ndt7.stats.refused.limited).toBe(1);
    // The same address cannot start an HTTP transfer either; another address can run ndt7.
    expect((await get(c, '/speed/down?bytes=1000')).status).toBe(429);
    const other = await ndt7(c, '127.0.0.2');
    expect(other.status).toBe(101);
    // Bytes an ndt7 download sends count against the address's budget.
    await waitFor(() => c.app.publicLimits.limits.bytesInLastHour('127.0.0.1') > 0, 5000);
    for (const s of [a, b, other]) s.ws?.terminate();
    await waitFor(() => c.app.publicLimits.limits.active() === 0 && c.app.ndt7.stats.active === 0);
    const again = await ndt7(c);
    expect(again.status).toBe(101);
    again.ws?.terminate();
  });

  it('behind a trusted proxy counts each X-Real-IP as its own client; from anyone else ignores the header', async () => {
    // 127.0.0.1 is a trusted proxy by default (nginx on the same host); 127.0.0.2 is not.
    const c = await collector({ maxConcurrentPerIp: 1 });
    const big = '/speed/down?bytes=1000000000';
    expect((await get(c, big, '127.0.0.1', { 'x-real-ip': '198.18.0.1' })).status).toBe(200);
    expect((await get(c, big, '127.0.0.1', { 'x-real-ip': '198.18.0.2' })).status).toBe(200);
    expect((await get(c, big, '127.0.0.1', { 'x-real-ip': '198.18.0.1' })).status).toBe(429);
    expect((await get(c, big, '127.0.0.1', { 'x-forwarded-for': '10.0.0.9, 198.18.0.3' })).status).toBe(200);
    expect((await get(c, big, '127.0.0.1', { 'x-forwarded-for': '198.18.0.3' })).status).toBe(429);
    expect((await get(c, big, '127.0.0.2', { 'x-real-ip': '198.18.0.4' })).status).toBe(200);
    expect((await get(c, big, '127.0.0.2', { 'x-real-ip': '198.18.0.5' })).status).toBe(429);
  });

  it('stays healthy with bounded memory after a flood of held, refused and dropped transfers', async () => {
    const c = await collector({ maxRequestSeconds: 3 });
    const rss0 = process.memoryUsage().rss;
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(c, '/speed/down?bytes=1000000000')));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(ok.length).toBe(PUBLIC_MAX_CONCURRENT_PER_IP);
    expect(refused.length).toBe(200 - PUBLIC_MAX_CONCURRENT_PER_IP);
    for (const a of refused) a.res.resume();
    // Nobody reads the held ones: they are cut off at the time limit.
    await waitFor(() => c.app.publicLimits.limits.active() === 0 && c.app.speedStats.active === 0, 15_000);
    const health = await fetch(`${c.url}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    // Memory: held transfers back up in socket buffers, not in the collector's heap.
    expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 1024 * 1024);
    expect(c.app.publicLimits.limits.trackedIps()).toBeLessThanOrEqual(1);
    const fine = await get(c, '/speed/down?bytes=1000');
    expect(await drain(fine)).toBe(1000);
  });
});

/** Send datagrams from `from` to the echo; return every reply with the request it answers. */
async function udpSend(port: number, packets: Buffer[], from = '127.0.0.1'): Promise<Buffer[]> {
  const sock = createSocket('udp4');
  const replies: Buffer[] = [];
  sock.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => sock.bind(0, from, () => r()));
  for (const p of packets) sock.send(p, port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 400));
  sock.close();
  return replies;
}

describe('UDP echo under abuse', () => {
  it('never answers an unsigned flood, whatever its sizes', async () => {
    const c = await collector();
    const port = c.app.udpEcho.echo!.port;
    const junk = Array.from({ length: 500 }, (_, i) => randomBytes(1 + ((i * 37) % 1400)));
    expect(await udpSend(port, junk)).toHaveLength(0);
    expect(c.app.udpEcho.echo!.counters.answered).toBe(0);
  });

  it('never sends more bytes than it receives, and caps a flood per source address and in total', async () => {
    const c = await startCollector({
      config: {
        ...COLLECTOR_CONFIG_DEFAULTS,
        udp: { ...COLLECTOR_CONFIG_DEFAULTS.udp, ipRatePps: 10, globalRatePps: 15 },
      },
    });
    open.push(c);
    const port = c.app.udpEcho.echo!.port;
    // Ten agents, each within its own key limit, all from one address: 200 signed requests, sizes 64–1200.
    const keys = Array.from({ length: 10 }, (_, i) => echoKeyFromToken(c.addAgent(`flood-${i}`).token)!);
    const packets = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const k = keys[i % keys.length]!;
        const size = 64 + ((i * 97) % (1200 - 64 + 1));
        return encodeEchoPacket(
          {
            type: 'request',
            auth: 'token',
            keyId: k.keyId,
            session: randomBytes(8),
            seq: i,
            clientTime: i,
            serverTime: 0,
            size,
          },
          k.key,
        );
      });
    const sent = packets(200);
    const replies = await udpSend(port, sent);
    // Per address: burst twice the rate (20), plus at most a few refilled during the send.
    expect(replies.length).toBeGreaterThanOrEqual(15);
    expect(replies.length).toBeLessThanOrEqual(25);
    const bytesIn = sent.reduce((n, p) => n + p.length, 0);
    const bytesOut = replies.reduce((n, p) => n + p.length, 0);
    expect(bytesOut).toBeLessThan(bytesIn);
    // Each reply is exactly as long as the request it answers (seq in bytes 24–27 of the header).
    const bySeq = new Map(sent.map((p) => [p.readUInt32BE(24), p.length]));
    for (const r of replies) expect(r.length).toBe(bySeq.get(r.readUInt32BE(24)));
    // A second address is capped by the global limit (burst 30 shared with the first).
    await new Promise((r) => setTimeout(r, 2100));
    const both = await Promise.all([udpSend(port, packets(100)), udpSend(port, packets(100), '127.0.0.2')]);
    expect(both[0].length + both[1].length).toBeLessThanOrEqual(36);
    // Everything not answered was dropped by a limit (or by the kernel, when the flood overran its buffer).
    const counters = c.app.udpEcho.echo!.counters;
    expect(counters.answered).toBe(replies.length + both[0].length + both[1].length);
    expect(counters.rateLimited).toBeGreaterThan(150);
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });
});
