import { createEnrollCodes, startCollector, type TestCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Property-based fuzzing of the enrolment API and the statistics/export query parameters over real
// HTTP (issue 11): whatever arrives, the collector answers 2xx/4xx (never 5xx), stays up, writes
// nothing for a refused request, and names what is wrong in a HATANG_ERR_* error.

let c: TestCollector;
let admin: string;
const dispatcher = new Agent({ connections: 4 });

beforeAll(async () => {
  c = await startCollector({ config: { ...COLLECTOR_CONFIG_DEFAULTS } });
  admin = c.adminToken('fuzz');
  c.addAgent('seed', 'fixed', { communeCode: '14001', isp: 'VNPT' });
});
afterAll(async () => {
  await dispatcher.close();
  await c.close();
});

interface Answer {
  status: number;
  text: string;
  error?: { code: string; message: string };
}

async function call(
  path: string,
  init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {},
) {
  const res = await request(`${c.url}${path}`, {
    method: init.method ?? 'GET',
    dispatcher,
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.body.text();
  const a: Answer = { status: res.statusCode, text };
  try {
    a.error = (JSON.parse(text) as { error?: Answer['error'] }).error;
  } catch {
    // CSV or empty
  }
  return a;
}

const count = (sql: string) => c.app.db.prepare(sql).pluck().get() as number;

/** A refusal must be a 4xx with a stable code and a message. */
function expectClearRefusal(a: Answer, label: string) {
  expect(a.status, `${label}: ${a.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(a.status, `${label}: ${a.text.slice(0, 300)}`).toBeLessThan(500);
  expect(a.error?.code, label).toMatch(/^HATANG_ERR_[A-Z_]+$/);
  expect(a.error?.message.length, label).toBeGreaterThan(5);
}

describe('fuzzing POST /api/v1/enroll', () => {
  const enroll = (body: string, contentType = 'application/json') =>
    call('/api/v1/enroll', { method: 'POST', body, headers: { 'content-type': contentType } });

  it('refuses any bad body with a clear 4xx, never consuming a code or creating an agent', async () => {
    const codes = createEnrollCodes(c.app.db);
    const { code, row } = codes.create({ name: 'fuzz-commune', access: 'fixed' }, Date.now());
    const agents0 = count('SELECT count(*) FROM agents');
    const otherField = fc.constantFrom('hostname', 'agentVersion');
    // Bodies that are wrong however they are built, some carrying the real code.
    const bad = fc.oneof(
      fc.jsonValue().map((v) => ({ body: JSON.stringify(v), names: ['body'] })),
      fc.string({ maxLength: 60 }).map((s) => ({ body: s, names: ['body', 'JSON'] })),
      fc
        .record({
          code: fc.string({ maxLength: 40 }),
          hostname: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
        })
        .map((o) => ({ body: JSON.stringify(o), names: ['code', 'hostname', 'enrolment code'] })),
      fc
        .tuple(
          otherField,
          fc.oneof(
            fc.integer(),
            fc.boolean(),
            fc.constant(null),
            fc.array(fc.string()),
            fc.string({ minLength: 256, maxLength: 400 }),
          ),
        )
        .filter(([k, v]) => !(typeof v === 'string' && k === 'hostname' && v.length <= 255))
        .map(([k, v]) => ({ body: JSON.stringify({ code, [k]: v }), names: [k] })),
      fc
        .string({ minLength: 1, maxLength: 20 })
        .filter((k) => !['code', 'hostname', 'agentVersion'].includes(k))
        .map((k) => ({ body: JSON.stringify({ code, [k]: 'x' }), names: [k.slice(0, 20), 'additional', 'unknown'] })),
      fc
        .oneof(fc.integer(), fc.string(), fc.constant(null))
        .map((v) => ({ body: JSON.stringify({ code: v }), names: ['code'] })),
    );
    await fc.assert(
      fc.asyncProperty(bad, async ({ body, names }) => {
        const a = await enroll(body);
        expectClearRefusal(a, body.slice(0, 100));
        const msg = a.error?.message ?? '';
        expect(
          names.some((n) => msg.includes(n)),
          `"${msg}" should name one of ${names.join(', ')}`,
        ).toBe(true);
      }),
      { numRuns: 250 },
    );
    // Wrong content types and encodings, with the real code.
    for (const [ct, b] of [
      ['text/plain', JSON.stringify({ code })],
      ['application/x-www-form-urlencoded', `code=${code}`],
      ['application/json', `{"code":"${code}"`],
    ] as const) {
      expectClearRefusal(await enroll(b, ct), ct);
    }
    // No partial write: no agent, and the code still works exactly once.
    expect(count('SELECT count(*) FROM agents')).toBe(agents0);
    expect(codes.list(Date.now()).some((r) => r.id === row.id && r.state === 'usable')).toBe(true);
    const ok = await enroll(JSON.stringify({ code: code.toLowerCase(), hostname: 'pc-01' }));
    expect(ok.status).toBe(200);
    const again = await enroll(JSON.stringify({ code }));
    expect(again.status).toBe(403);
    expect(again.error?.code).toBe('HATANG_ERR_ENROLL_CODE');
    expect(count('SELECT count(*) FROM agents')).toBe(agents0 + 1);
  });
});

describe('fuzzing the statistics and export query parameters', () => {
  const keys = {
    '/api/v1/stats/units': ['period', 'at', 'level', 'parent', 'access', 'isp', 'byIsp', 'perAgent'],
    '/api/v1/stats/trend': ['unit', 'access', 'isp', 'period', 'weeks', 'months', 'at', 'perAgent'],
    '/api/v1/export/stats.csv': ['period', 'at', 'level', 'parent', 'access', 'isp', 'byIsp', 'perAgent', 'lang'],
    '/api/v1/export/results.csv': ['from', 'to', 'unit', 'kind', 'lang'],
  } as const;
  // Plausible and hostile values: near-valid period keys, unit codes, numbers, SQL/HTML, unicode.
  const value = fc.oneof(
    fc.constantFrom('week', 'month', 'year', 'commune', 'district', 'province', 'group', 'fixed', 'mobile'),
    fc.constantFrom('true', 'false', '1', '0', 'yes', '', ' ', 'null', 'NaN', '-1', '1e309', '9007199254740993'),
    fc.constantFrom('14', '14001', '14011', '99999', 'G-1', "14' OR 1=1 --", '<script>x</script>', 'vi', 'en', 'speed'),
    fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }))
      .map(([y, w]) => `${String(y).padStart(4, '0')}-W${String(w).padStart(2, '0')}`),
    fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }))
      .map(([y, m]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`),
    fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))
      .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`),
    fc.integer({ min: -5, max: 100_000 }).map(String),
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  );

  for (const [path, known] of Object.entries(keys)) {
    it(`${path}: any query answers 2xx or a clear 4xx naming the parameter, never 5xx`, async () => {
      const key = fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...known) },
        fc.string({ minLength: 1, maxLength: 12 }),
      );
      const query = fc.array(fc.tuple(key, value), { maxLength: 5 });
      await fc.assert(
        fc.asyncProperty(query, async (pairs) => {
          const qs = new URLSearchParams(pairs).toString();
          const a = await call(`${path}?${qs}`, { headers: { authorization: `Bearer ${admin}` } });
          if (a.status < 400) {
            expect(a.status, qs).toBe(200);
            return;
          }
          expectClearRefusal(a, qs);
          const msg = a.error?.message ?? '';
          const named = pairs.some(([k]) => msg.includes(k.slice(0, 40))) || /querystring|query/.test(msg);
          expect(named, `"${msg}" should name a parameter of ${qs}`).toBe(true);
        }),
        { numRuns: 120 },
      );
    });
  }

  it('regressions found by fuzzing: errors name their parameter; impossible dates are refused, not rolled over', async () => {
    const auth = { authorization: `Bearer ${admin}` };
    const cases: [string, number, string][] = [
      ['/api/v1/stats/units?parent=0', 404, 'parent: no unit 0'],
      ['/api/v1/export/stats.csv?parent=0', 404, 'parent: no unit 0'],
      ['/api/v1/stats/units?at=0000-00', 400, 'at: week "0000-00" must look like 2026-W48'],
      ['/api/v1/stats/units?period=month&at=2026-13', 400, 'at: month 2026-13 does not exist'],
      ['/api/v1/stats/trend?unit=14&at=2026-W54', 400, 'at: week 2026-W54 does not exist: 2026 has weeks 01–53'],
      ['/api/v1/stats/trend?unit=99999', 404, 'unit: no unit 99999'],
      ['/api/v1/export/results.csv?from=0000-00-00', 400, 'from: 0000-00-00 is not a date'],
      // Date.parse rolls 30 February over to 2 March; the export used to accept it silently.
      ['/api/v1/export/results.csv?from=2026-02-30', 400, 'from: 2026-02-30 is not a date'],
      ['/api/v1/export/results.csv?to=2025-04-31', 400, 'to: 2025-04-31 is not a date'],
    ];
    for (const [path, status, message] of cases) {
      const a = await call(path, { headers: auth });
      expect(a.status, path).toBe(status);
      expect(a.error?.message, path).toBe(message);
    }
    expect((await call('/api/v1/export/results.csv?from=2024-02-29&to=2024-03-01', { headers: auth })).status).toBe(
      200,
    );
  });

  it('raw query strings: repeated keys, bad percent-encoding, brackets, huge values', async () => {
    for (const raw of [
      'weeks=1&weeks=2&unit=14',
      'unit=14&unit=14001',
      'unit=%ZZ',
      'unit[]=14',
      'unit[a]=14',
      `unit=${'1'.repeat(5000)}`,
      'at=2026-W53&unit=14',
      'at=2025-W53&unit=14',
      'at=2026-13&unit=14&period=month',
      'at=2026-00&unit=14&period=month',
      'at=0000-W00&unit=14',
      '%00=1',
      '=&&&=',
    ]) {
      const a = await call(`/api/v1/stats/trend?${raw}`, { headers: { authorization: `Bearer ${admin}` } });
      expect(a.status, `${raw}: ${a.text.slice(0, 200)}`).toBeLessThan(500);
      if (a.status >= 400) expectClearRefusal(a, raw);
    }
    const health = await call('/healthz');
    expect(health.status).toBe(200);
  });
});
