import { connect, type Socket } from 'node:net';
import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { one, parseProm } from '../../../test/helpers/prom.js';
import { ingestEnvelope, speedResult, startCollector, type TestCollector } from '../testing.js';

// The concurrency gate of ingest admission on a real collector (127.0.0.1:0): one request held
// half-sent keeps the only slot, the next is answered 429 with a Retry-After from the schedule, and
// the slot comes back when the held request ends, whether answered or abandoned.
let c: TestCollector | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await c?.app.close();
  c = undefined;
});

function post(url: string, token: string, body: string, send = body.length): Promise<Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => {
      s.write(
        `POST /api/v1/results HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, send)}`,
      );
      resolve(s);
    });
    s.once('error', reject);
    sockets.push(s);
  });
}

function answer(s: Socket): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString();
      const end = got.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(got)?.[1];
      if (end >= 0 && len && got.length >= end + 4 + Number(len)) {
        s.off('data', onData);
        resolve({
          status: Number(got.slice(9, 12)),
          headers: got.slice(0, end).toLowerCase(),
          body: got.slice(end + 4, end + 4 + Number(len)),
        });
      }
    };
    s.on('data', onData);
  });
}

describe('ingest admission on a real collector', () => {
  it('answers past maxInFlightIngest with 429 + a scheduled Retry-After, and frees the slot afterwards', async () => {
    c = await startCollector({
      config: { ...COLLECTOR_CONFIG_DEFAULTS, load: { ...COLLECTOR_CONFIG_DEFAULTS.load, maxInFlightIngest: 1 } },
    });
    const { token } = c.addAgent('a1');
    const body = JSON.stringify(ingestEnvelope([speedResult({ at: Date.now(), downBps: 50e6 })]));
    const held = await post(c.url, token, body, 10); // headers and 10 bytes: admitted, then waiting
    await new Promise((r) => setTimeout(r, 100));
    expect(c.app.shedding.state().inFlight).toBe(1);

    const second = await answer(await post(c.url, token, body));
    expect(second.status).toBe(429);
    expect(JSON.parse(second.body).error.code).toBe('HATANG_ERR_RATE_LIMITED');
    const retryAfter = Number(/retry-after: (\d+)/.exec(second.headers)?.[1]);
    expect(retryAfter).toBeGreaterThanOrEqual(COLLECTOR_CONFIG_DEFAULTS.load.retryAfterMinS);
    expect(retryAfter).toBeLessThanOrEqual(COLLECTOR_CONFIG_DEFAULTS.load.retryAfterMaxS);
    // The refused connection stays usable (keep-alive): the agent retries on it.
    expect(second.headers).toContain('connection: keep-alive');

    // The held request completes: the slot is free, the next one is served and measured.
    held.write(body.slice(10));
    expect((await answer(held)).status).toBe(200);
    const third = await answer(
      await post(
        c.url,
        token,
        JSON.stringify(ingestEnvelope([speedResult({ at: Date.now() - 60_000, downBps: 40e6 })])),
      ),
    );
    expect(third.status).toBe(200);
    expect(c.app.shedding.state()).toMatchObject({ inFlight: 0, shed: 1 });
    expect(c.app.shedding.state().capacityPerS).toBeGreaterThan(0);

    // A client that leaves mid-body gives its slot back too.
    const abandoned = await post(c.url, token, body, 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.app.shedding.state().inFlight).toBe(1);
    abandoned.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(c.app.shedding.state().inFlight).toBe(0);

    const metrics = parseProm(await (await fetch(`${c.url}/metrics`)).text());
    expect(one(metrics, 'hatang_ingest_shed_total', { reason: 'in_flight' }).value).toBe(1);
    expect(one(metrics, 'hatang_ingest_shed_total', { reason: 'saturated' }).value).toBe(0);
  });
});
