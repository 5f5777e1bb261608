import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type AgentStatus, IngestEnvelope, type Result, Validator } from '@hatang/shared';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { Outbox } from './outbox/outbox.js';
import { ManualClock } from './testing.js';
import { parseRetryAfter, Uplink } from './uplink.js';

type Handler = (
  body: { results: Result[]; agentStatus?: AgentStatus },
  req: IncomingMessage,
  res: ServerResponse,
) => void;

let dir: string;
let server: Server;
let url: string;
let handler: Handler;
let requests: number;

function result(): Result {
  return {
    id: uuidv7(),
    kind: 'latency',
    startedAt: new Date().toISOString(),
    clock: { bootId: 'b', uptimeMs: 1 },
    durationMs: 1,
    status: 'ok',
    network: { access: 'fixed', family: 4 },
    bytesUsed: 1,
    agentVersion: '0.1.0',
  } as Result;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

const ackAll: Handler = (b, _req, res) =>
  json(res, 200, { accepted: b.results.map((r) => r.id), duplicate: [], rejected: [] });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-uplink-'));
  requests = 0;
  handler = ackAll;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const raw = Buffer.concat(chunks);
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
      handler(JSON.parse(text), req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function setup(n: number, o: { batchSize?: number } = {}) {
  const outbox = Outbox.inDir(dir);
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = result();
    ids.push(r.id);
    outbox.enqueue(r, clock.now());
  }
  const bytes: number[] = [];
  const up = new Uplink({
    collectorUrl: url,
    token: 't',
    outbox,
    clock,
    log: createLogger('silent'),
    random: () => 0.5,
    onBytes: (b) => bytes.push(b),
    ...o,
  });
  return { outbox, clock, up, ids, bytes };
}

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12);
  it.each([
    ['120', 120_000],
    [' 3 ', 3_000],
    ['0', 0],
    ['Wed, 01 Jan 2025 12:00:30 GMT', 30_000],
    ['Wed, 01 Jan 2025 11:00:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
    [['7', '9'], 7_000],
  ] as const)('%j → %j ms', (v, ms) => {
    expect(parseRetryAfter(v as string | string[] | undefined, now)).toBe(ms);
  });
});

describe('uplink', () => {
  it('pushes in batches, deletes only what the collector acknowledged, counts the bytes', async () => {
    const { outbox, up, bytes } = setup(7, { batchSize: 3 });
    const d = await up.drain();
    expect(d).toMatchObject({ accepted: 7, last: { kind: 'empty' } });
    expect(requests).toBe(3);
    expect(outbox.depth().count).toBe(0);
    expect(bytes).toHaveLength(3);
    expect(bytes.every((b) => b > 600)).toBe(true);
    outbox.close();
  });

  it('sends the outbox status with every batch: what waits behind it, dead letters, drops', async () => {
    const seen: AgentStatus[] = [];
    const envelope = new Validator(IngestEnvelope);
    handler = (b, req, res) => {
      expect(envelope.explain(b)).toBeUndefined();
      seen.push(b.agentStatus!);
      // The first result of the first batch is refused: a dead letter at the next push.
      if (seen.length === 1) {
        json(res, 200, {
          accepted: b.results.slice(1).map((r) => r.id),
          duplicate: [],
          rejected: [{ id: b.results[0]!.id, code: 'HATANG_ERR_VALIDATION', message: 'bad' }],
        });
      } else ackAll(b, req, res);
    };
    const { outbox, up } = setup(7, { batchSize: 3 });
    const queued = outbox.peek(10);
    outbox.set('outbox.dropped', '4');
    await up.drain();
    expect(seen).toEqual([
      {
        queued: 4,
        oldestQueued: { startedAt: queued[3]!.startedAt, clock: queued[3]!.clock },
        deadLetters: 0,
        dropped: 4,
      },
      {
        queued: 1,
        oldestQueued: { startedAt: queued[6]!.startedAt, clock: queued[6]!.clock },
        deadLetters: 1,
        dropped: 4,
      },
      // The last batch empties the outbox: nothing waits behind it.
      { queued: 0, deadLetters: 1, dropped: 4 },
    ]);
    outbox.close();
  });

  it('waits as Retry-After says on 429 and 503, and no longer than an hour', async () => {
    handler = (_b, _r, res) =>
      json(res, 429, { error: { code: 'HATANG_ERR_RATE_LIMITED', message: 'busy' } }, { 'retry-after': '90' });
    const { outbox, clock, up } = setup(2);
    expect((await up.drain()).last).toEqual({
      kind: 'retry',
      afterMs: 90_000,
      reason: 'collector busy (HTTP 429, Retry-After 90 s)',
    });
    await clock.advance(89_999);
    expect((await up.drain()).last).toMatchObject({ kind: 'retry', afterMs: 1 });
    expect(requests).toBe(1);
    handler = (_b, _r, res) => json(res, 503, {}, { 'retry-after': '999999' });
    await clock.advance(1);
    expect((await up.drain()).last).toMatchObject({ kind: 'retry', afterMs: 3_600_000 });
    expect(requests).toBe(2);
    handler = ackAll;
    await clock.advance(3_600_000);
    expect((await up.drain()).accepted).toBe(2);
    expect(up.state()).toMatchObject({ failures: 0, lastSuccessAt: clock.now() });
    outbox.close();
  });

  it('a wall clock stepped back during a wait does not stall delivery until it catches up', async () => {
    handler = (_b, _r, res) => json(res, 429, {}, { 'retry-after': '90' });
    const { outbox, clock, up } = setup(2);
    // The clock ran 400 days ahead; the collector asked for 90 s; then NTP steps it back.
    clock.stepWall(400 * 86_400_000);
    expect((await up.drain()).last).toMatchObject({ kind: 'retry', afterMs: 90_000 });
    clock.stepWall(-400 * 86_400_000);
    // Still at most the 90 s asked for, not 400 days.
    expect((await up.drain()).last).toMatchObject({ kind: 'retry', afterMs: 90_000 });
    handler = ackAll;
    await clock.advance(90_000);
    expect((await up.drain()).accepted).toBe(2);
    outbox.close();
  });

  it('backs off exponentially with jitter while the collector fails', async () => {
    handler = (_b, _r, res) => json(res, 500, {});
    const { outbox, clock, up } = setup(1);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const d = await up.drain();
      if (d.last.kind !== 'retry') throw new Error('expected retry');
      waits.push(d.last.afterMs);
      await clock.advance(d.last.afterMs);
    }
    // random 0.5 → ¾ of each step: 1 s, 2 s, 4 s … doubled per failure
    expect(waits).toEqual([1500, 3000, 6000, 12000, 24000, 48000]);
    expect(outbox.depth().count).toBe(1);
    outbox.close();
  });

  it('413: halves the batch; a single result still too large becomes a dead letter', async () => {
    handler = (b, _r, res) =>
      b.results.length > 2 || b.results.some((r) => r.id === big) ? json(res, 413, {}) : ackAll(b, _r, res);
    const { outbox, up, ids } = setup(8);
    const big = ids[5];
    const d = await up.drain();
    expect(d.last).toEqual({ kind: 'empty' });
    expect(d.accepted).toBe(7);
    expect(outbox.deadLetters().map((x) => [x.id, x.code])).toEqual([[big, 'HATANG_ERR_PAYLOAD_TOO_LARGE']]);
    outbox.close();
  });

  it('rejected results become dead letters; ids outside the batch in an answer are ignored', async () => {
    const stranger = uuidv7();
    handler = (b, _r, res) =>
      json(res, 200, {
        accepted: [b.results[0]!.id, stranger],
        duplicate: [b.results[1]!.id],
        rejected: [{ id: b.results[2]!.id, code: 'HATANG_ERR_VALIDATION', message: '/status must be …' }],
      });
    const { outbox, up } = setup(3);
    expect(await up.drain()).toMatchObject({ accepted: 1, duplicate: 1, rejected: 1, last: { kind: 'empty' } });
    expect(outbox.deadLetters()[0]).toMatchObject({ code: 'HATANG_ERR_VALIDATION', message: '/status must be …' });
    outbox.close();
  });

  it('a 200 that is not an ingest answer, or that acknowledges nothing, is retried, not trusted', async () => {
    handler = (_b, _r, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>captive portal</html>');
    const { outbox, up } = setup(2);
    expect((await up.drain()).last).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/not an ingest answer/),
    });
    expect(outbox.depth().count).toBe(2);
    const other = setup(1);
    handler = (_b, _r, res) => json(res, 200, { accepted: [], duplicate: [], rejected: [] });
    expect((await other.up.drain()).last).toMatchObject({
      kind: 'retry',
      reason: 'collector acknowledged none of the batch',
    });
    outbox.close();
  });

  it('401 is fatal for now (re-enrol) but backs off, and keeps the results', async () => {
    handler = (_b, _r, res) =>
      json(res, 401, { error: { code: 'HATANG_ERR_UNAUTHORIZED', message: 'unknown agent token' } });
    const { outbox, up } = setup(1);
    expect((await up.drain()).last).toMatchObject({ kind: 'fatal', code: 'HATANG_ERR_UNAUTHORIZED' });
    expect(up.notBefore).toBeGreaterThan(0);
    expect(outbox.depth().count).toBe(1);
    outbox.close();
  });
});
