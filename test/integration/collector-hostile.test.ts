import { gzipSync } from 'node:zlib';
import {
  ingestEnvelope,
  loadCollectorConfig,
  speedResult,
  startCollector,
  type TestCollector,
} from '@hatang/collector';
import { MAX_BATCH_RESULTS, MAX_INGEST_BODY_BYTES } from '@hatang/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Hostile input against a real collector: every answer is a clear 4xx (or, for one bad result in
 * a batch, a rejection naming the field, as the wire contract says), nothing is stored wrongly,
 * and the server stays up.
 */

const HOSTILE = [
  "'; DROP TABLE results; --",
  "Robert'); DELETE FROM agents WHERE ('1'='1",
  '" OR "1"="1',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(document.cookie)>',
  '=HYPERLINK("http://evil.example/","click")',
  '+SUM(1,2)',
  'Xã Chiềng Lề, "quoted", comma; semicolon\nnew line',
  '\u202eRTL override',
];

let c: TestCollector;
let a: { id: string; token: string };
let b: { id: string; token: string };
let admin: string;
const at = Date.parse('2026-11-20T03:00:00Z');

async function post(token: string | null, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${c.url}/api/v1/results`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}
const send = (token: string, results: unknown[]) => post(token, JSON.stringify(ingestEnvelope(results)));
const count = () => (c.app.db.prepare('SELECT count(*) AS n FROM results').get() as { n: number }).n;
const samplesInRollups = () =>
  (c.app.db.prepare("SELECT coalesce(sum(n), 0) AS n FROM rollup_periods WHERE kind = 'week'").get() as { n: number })
    .n;

beforeAll(async () => {
  c = await startCollector({ now: () => Date.parse('2026-11-28T06:00:00Z') });
  a = c.addAgent('agent-a', 'fixed', { communeCode: '03646' });
  b = c.addAgent('agent-b', 'fixed', { communeCode: '03682' });
  admin = c.adminToken();
});
afterAll(async () => {
  await c.close();
});

describe('oversized and malformed bodies', () => {
  it('refuses a body past 1 MiB with 413', async () => {
    const big = JSON.stringify({ ...ingestEnvelope([]), pad: 'x'.repeat(MAX_INGEST_BODY_BYTES) });
    const r = await post(a.token, big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('HATANG_ERR_PAYLOAD_TOO_LARGE');
  });

  it('refuses a gzip body that inflates past 1 MiB with 413 (gzip bomb)', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * MAX_INGEST_BODY_BYTES, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const r = await post(a.token, bomb, { 'content-encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(r.body.error.message).toMatch(/inflated body is larger/);
  });

  it(`refuses more than ${MAX_BATCH_RESULTS} results in a batch`, async () => {
    const results = Array.from({ length: MAX_BATCH_RESULTS + 1 }, () => ({}));
    const r = await post(a.token, JSON.stringify(ingestEnvelope(results)));
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/\/results must have at most 500 items/);
  });

  it.each([
    { name: 'deeply nested arrays', body: `{"results":${'['.repeat(100_000)}${']'.repeat(100_000)}}` },
    { name: 'deeply nested objects', body: `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}` },
  ])('refuses $name before parsing them', async ({ body }) => {
    const r = await post(a.token, body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/nests deeper than 32 levels/);
  });

  it.each([
    { name: 'invalid JSON', body: '{"schema":1,', status: 400, re: /not valid JSON/ },
    { name: 'an empty body', body: '', status: 400, re: /JSON/ },
    { name: 'prototype poisoning', body: '{"__proto__":{"admin":true}}', status: 400, re: /__proto__/ },
    { name: 'a JSON array', body: '[]', status: 400, re: /envelope/ },
    { name: 'a JSON string', body: '"hello"', status: 400, re: /envelope/ },
  ])('answers $name with $status', async ({ body, status, re }) => {
    const r = await post(a.token, body);
    expect(r.status).toBe(status);
    expect(r.body.error.message).toMatch(re);
  });

  it('answers a wrong content type or encoding with 415, broken gzip with 400', async () => {
    expect((await post(a.token, '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(a.token, '{}', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post(a.token, '{}', { 'content-encoding': 'br' })).status).toBe(415);
    const broken = await post(a.token, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/gzip/);
  });

  it('needs a valid agent token: missing, malformed, unknown, an admin token', async () => {
    const body = JSON.stringify(ingestEnvelope([]));
    expect((await post(null, body)).status).toBe(401);
    expect((await post("' OR 1=1 --", body)).status).toBe(401);
    expect((await post('hat1_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', body)).status).toBe(401);
    expect((await post(admin, body)).status).toBe(401);
  });
});

describe('wrong types and unknown fields', () => {
  it.each([
    { name: 'schema as a string', env: { ...ingestEnvelope([]), schema: '1' }, re: /\/schema/ },
    { name: 'results as an object', env: { ...ingestEnvelope([]), results: {} }, re: /\/results must be an array/ },
    { name: 'an unknown envelope field', env: { ...ingestEnvelope([]), agentId: 'x' }, re: /\/agentId is not allowed/ },
    { name: 'a bad sentAt', env: { ...ingestEnvelope([]), sentAt: "2026-11-28'; --" }, re: /\/sentAt/ },
    { name: 'a result that is not an object', env: ingestEnvelope([42]), re: /\/results\/0 must be an object/ },
  ])('refuses an envelope with $name (400)', async ({ env, re }) => {
    const r = await post(a.token, JSON.stringify(env));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('HATANG_ERR_VALIDATION');
    expect(r.body.error.message).toMatch(re);
  });

  it('rejects each bad result with the field named, stores the good ones', async () => {
    const before = count();
    const good = speedResult({ at, downMbps: 50 });
    const bad: [unknown, RegExp][] = [
      [{ ...speedResult({ at, downMbps: 50 }), durationMs: '10' }, /\/durationMs must be a number/],
      [{ ...speedResult({ at, downMbps: 50 }), status: 'OK' }, /\/status/],
      [{ ...speedResult({ at, downMbps: 50 }), network: { access: 'fixed', family: 5 } }, /\/network\/family/],
      [{ ...speedResult({ at, downMbps: 50 }), agentId: b.id }, /\/agentId is not allowed \(unknown field\)/],
      [{ ...speedResult({ at, downMbps: 50 }), kind: 'speed; DROP TABLE results' }, /\/kind must be one of/],
      [{ ...speedResult({ at, downMbps: -5 }) }, /\/speed\/download\/bps must be >= 0/],
      [{ ...speedResult({ at, downMbps: 50 }), bytesUsed: Number.POSITIVE_INFINITY }, /\/bytesUsed/],
      [{ ...speedResult({ at, downMbps: 50 }), id: "1' OR '1'='1" }, /\/id must be a lower-case UUIDv7/],
      [
        { ...speedResult({ at, downMbps: 50 }), speed: { profile: 'fixed', extra: { deep: [1, 2, 3] } } },
        /\/speed\/extra is not allowed/,
      ],
      [
        { ...speedResult({ at, downMbps: 50 }), network: { access: 'fixed', family: 4, isp: 'x'.repeat(100_000) } },
        /\/network\/isp must be at most 512 characters/,
      ],
    ];
    // 1e309 is not valid JSON: send it as text so the parser sees Infinity-sized input.
    const text = JSON.stringify(ingestEnvelope([good, ...bad.map(([v]) => v)])).replace(
      '"bytesUsed":null',
      '"bytesUsed":1e309',
    );
    const r = await post(a.token, text);
    expect(r.status).toBe(200);
    expect(r.body.accepted).toEqual([good.id]);
    expect(r.body.rejected).toHaveLength(bad.length);
    bad.forEach(([, re], i) => {
      expect(r.body.rejected[i].code).toBe('HATANG_ERR_VALIDATION');
      expect(r.body.rejected[i].message).toMatch(re);
    });
    expect(count()).toBe(before + 1);
  });
});

describe('replays and other agents', () => {
  it('stores a replayed batch once: everything comes back duplicate, rollups unchanged', async () => {
    const results = [speedResult({ at, downMbps: 70 }), speedResult({ at: at + 60_000, downMbps: 80 })];
    const first = await send(a.token, results);
    expect(first.body.accepted).toHaveLength(2);
    const rows = count();
    const samples = samplesInRollups();
    for (let i = 0; i < 3; i++) {
      const again = await send(a.token, results);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ accepted: [], duplicate: results.map((r) => r.id), rejected: [] });
    }
    // the same id twice in one batch: the second is a duplicate
    const twin = speedResult({ at, downMbps: 90 });
    const t = await send(a.token, [twin, twin]);
    expect(t.body).toEqual({ accepted: [twin.id], duplicate: [twin.id], rejected: [] });
    expect(count()).toBe(rows + 1);
    expect(samplesInRollups()).toBe(samples + 1);
  });

  it("refuses another agent's result ids and leaves the original untouched", async () => {
    const mine = speedResult({ at, downMbps: 33 });
    await send(a.token, [mine]);
    const original = c.app.db.prepare('SELECT agent_id, body, download_bps FROM results WHERE id = ?').get(mine.id);
    const forged = {
      ...mine,
      speed: { profile: 'fixed' as const, download: { ...(mine as any).speed.download, bps: 1 } },
    };
    const r = await send(b.token, [forged]);
    expect(r.status).toBe(200);
    expect(r.body.accepted).toEqual([]);
    expect(r.body.rejected).toEqual([
      { id: mine.id, code: 'HATANG_ERR_ID_TAKEN', message: '/id belongs to another agent' },
    ]);
    expect(c.app.db.prepare('SELECT agent_id, body, download_bps FROM results WHERE id = ?').get(mine.id)).toEqual(
      original,
    );
  });
});

describe('SQL-like and HTML-like strings in every text field', () => {
  it('stores free text verbatim as data, never as SQL or markup', async () => {
    const sent: any[] = [];
    for (const [i, h] of HOSTILE.entries()) {
      const r = speedResult({ at: at + i * 1000, downMbps: 40 + i, isp: h }) as any;
      r.agentVersion = h.slice(0, 32);
      r.clock = { bootId: h.slice(0, 64), uptimeMs: 1000 };
      r.server = { id: 'srv-1', url: h };
      r.status = 'error';
      r.error = { code: 'TIMEOUT', phase: 'download', message: h };
      sent.push(r);
    }
    const res = await send(a.token, sent);
    expect(res.status).toBe(200);
    expect(res.body.rejected).toEqual([]);
    expect(res.body.accepted).toHaveLength(HOSTILE.length);
    for (const r of sent) {
      const row = c.app.db.prepare('SELECT agent_id, isp, body FROM results WHERE id = ?').get(r.id) as any;
      expect(row.agent_id).toBe(a.id);
      expect(row.isp).toBe(r.network.isp);
      expect(JSON.parse(row.body)).toEqual(r);
    }
    // the tables are all still there
    const tables = c.app.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['agents', 'results', 'units', 'rollup_periods']));
  });

  it('refuses them in identifier fields, naming the field', async () => {
    const fields: [string, (r: any, h: string) => void][] = [
      ['/server/id', (r, h) => (r.server = { id: h, url: 'http://x/' })],
      ['/network/iface', (r, h) => (r.network.iface = h)],
      ['/error/code', (r, h) => (r.error = { code: h, phase: 'x', message: 'm' })],
      ['/error/phase', (r, h) => (r.error = { code: 'X', phase: h, message: 'm' })],
    ];
    for (const [path, set] of fields) {
      const results = HOSTILE.map((h, i) => {
        const r = speedResult({ at: at + i, downMbps: 1 }) as any;
        set(r, h);
        return r;
      });
      const res = await send(a.token, results);
      expect(res.body.accepted).toEqual([]);
      for (const rej of res.body.rejected) expect(rej.message).toMatch(new RegExp(`^${path} `));
    }
  });

  it('keeps hostile names as data in the admin API and quotes them in CSV', async () => {
    const h = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    for (const name of HOSTILE.filter((x) => !x.includes('\n'))) {
      const r = await fetch(`${c.url}/api/v1/admin/agents`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ name, access: 'fixed', communeCode: '03646', isp: name.slice(0, 64) }),
      });
      expect(r.status).toBe(201);
      const { agent } = (await r.json()) as any;
      expect(agent.name).toBe(name);
    }
    const ctl = await fetch(`${c.url}/api/v1/admin/agents`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ name: 'bell\u0007', access: 'fixed' }),
    });
    expect(ctl.status).toBe(400);
    const csv = await fetch(`${c.url}/api/v1/export/results.csv?from=2026-11-19&to=2026-11-21&kind=all&lang=en`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(csv.status).toBe(200);
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 byte-order mark for Excel
    const text = bytes.toString('utf8');
    expect(text.startsWith('\uFEFFresult_id,')).toBe(true);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/"",""click"")"`);
    expect(text).toContain(`"'+SUM(1,2)"`); // prefixed, then quoted for the comma
    expect(text).not.toMatch(/(^|,)=HYPERLINK/m);
    expect(text).toContain('"Xã Chiềng Lề, ""quoted"", comma; semicolon\nnew line"');
  });

  it('refuses SQL-like query parameters with 400, not 500', async () => {
    const h = { authorization: `Bearer ${admin}` };
    for (const q of [
      "unit=03646' OR '1'='1",
      'unit=03646;DROP TABLE results',
      'unit=<script>',
      'unit=03646&weeks=1e3',
      'unit=03646&access=fixed%27--',
    ]) {
      const r = await fetch(`${c.url}/api/v1/stats/trend?${q}`, { headers: h });
      expect(r.status, q).toBe(400);
    }
    const u = await fetch(`${c.url}/api/v1/stats/units?parent=${encodeURIComponent("14' --")}`, { headers: h });
    expect(u.status).toBe(400);
  });
});

describe('rate limit per agent', () => {
  it('answers 429 with Retry-After past the burst, other agents unaffected', async () => {
    const config = loadCollectorConfig({ env: {}, overrides: { ingest: { ratePerMinute: 6, burst: 2 } } });
    const rl = await startCollector({ config });
    try {
      const x = rl.addAgent('x');
      const y = rl.addAgent('y');
      const body = JSON.stringify(ingestEnvelope([]));
      const hit = (token: string) =>
        fetch(`${rl.url}/api/v1/results`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
      expect((await hit(x.token)).status).toBe(200);
      expect((await hit(x.token)).status).toBe(200);
      const limited = await hit(x.token);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(10);
      expect(((await limited.json()) as any).error.code).toBe('HATANG_ERR_RATE_LIMITED');
      expect((await hit(y.token)).status).toBe(200);
    } finally {
      await rl.close();
    }
  });
});

describe('after all that', () => {
  it('the server is up and ingests normally', async () => {
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
    const r = await send(b.token, [speedResult({ at, downMbps: 55 })]);
    expect(r.status).toBe(200);
    expect(r.body.accepted).toHaveLength(1);
  });
});
