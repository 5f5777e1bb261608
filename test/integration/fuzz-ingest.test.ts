import { gzipSync } from 'node:zlib';
import { startCollector, type TestCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Property-based fuzzing of the ingest API over real HTTP: whatever arrives, the collector answers
// 2xx/4xx (never 5xx), stays up, and stores exactly what it acknowledged as accepted.

let c: TestCollector;
let token: string;
const dispatcher = new Agent({ connections: 4 });

beforeAll(async () => {
  // Hundreds of requests from one agent in seconds: lift the per-agent rate limit (tested on its own).
  c = await startCollector({
    config: { ...COLLECTOR_CONFIG_DEFAULTS, ingest: { ratePerMinute: 1_000_000, burst: 1_000_000 } },
  });
  token = c.addAgent('fuzz').token;
});
afterAll(async () => {
  await dispatcher.close();
  await c.close();
});

async function post(body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await request(`${c.url}/api/v1/results`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    text,
    json: (() => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    })(),
  };
}

function validResult(i: number) {
  return {
    id: uuidv7(),
    kind: 'speed',
    startedAt: new Date(Date.now() - i * 1000).toISOString(),
    clock: { bootId: 'fuzz-boot', uptimeMs: 10_000 + i },
    durationMs: 21_000,
    status: 'ok',
    network: { access: 'fixed', family: 4, isp: 'VNPT' },
    server: { id: 'collector', url: 'http://127.0.0.1' },
    bytesUsed: 1000,
    agentVersion: '0.1.0',
    speed: {
      profile: 'fixed',
      download: { bps: 9e7, bytes: 1e8, durationMs: 1e4, warmupMs: 1500, streams: 8, stopReason: 'window' },
    },
  } as Record<string, any>;
}

function count(): number {
  return c.app.repo.countResults();
}

/** A random edit somewhere inside a JSON value: delete, replace with a random value, or add a key. */
const mutation = fc.record({
  depthPick: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'add'),
  value: fc.jsonValue({ maxDepth: 2 }),
  key: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom('__proto__', 'constructor', "'; DROP TABLE results; --", '<script>'),
  ),
});

function mutate(obj: Record<string, any>, m: fc.RecordValue<any>) {
  // collect object paths
  const nodes: Array<Record<string, any>> = [];
  const walk = (o: any) => {
    if (o && typeof o === 'object' && !Array.isArray(o)) {
      nodes.push(o);
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(obj);
  const node = nodes[m.depthPick % nodes.length]!;
  const keys = Object.keys(node);
  const k = keys[m.depthPick % Math.max(1, keys.length)];
  if (m.op === 'delete' && k) delete node[k];
  else if (m.op === 'replace' && k) node[k] = m.value;
  else Object.defineProperty(node, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
}

describe('ingest fuzzing (fast-check)', () => {
  it('answers any JSON body with 200 or 400, never 5xx, and stores nothing for a bad envelope', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => {
        const before = count();
        const r = await post(JSON.stringify(v));
        expect([200, 400]).toContain(r.status);
        if (r.status === 400) {
          expect(r.json.error.code).toBe('HATANG_ERR_VALIDATION');
          expect(r.json.error.message.length).toBeGreaterThan(5);
        }
        expect(count()).toBe(before + (r.status === 200 ? r.json.accepted.length : 0));
      }),
      { numRuns: 150 },
    );
  });

  it('accepts exactly the valid results of a mutated batch and stores them verbatim', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(mutation, { freq: 2 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (muts, gzip) => {
          const results = muts.map((m, i) => {
            const r = validResult(i);
            if (m) mutate(r, m);
            return r;
          });
          const env = JSON.stringify({
            schema: 1,
            sentAt: new Date().toISOString(),
            clock: { bootId: 'fuzz-boot', uptimeMs: 99_999 },
            results,
          });
          const before = count();
          const r = await post(gzip ? gzipSync(env) : env, gzip ? { 'content-encoding': 'gzip' } : {});
          expect(r.status).toBe(200);
          const { accepted, duplicate, rejected } = r.json as {
            accepted: string[];
            duplicate: string[];
            rejected: any[];
          };
          expect(accepted.length + duplicate.length + rejected.length).toBe(results.length);
          for (const rej of rejected) {
            expect(rej.code).toMatch(/^HATANG_ERR_/);
            expect(rej.message).toMatch(/^\//);
          }
          expect(count()).toBe(before + accepted.length);
          for (const id of accepted) {
            const row = c.app.db.prepare('SELECT body FROM results WHERE id = ?').get(id) as { body: string };
            const sent = results.find((x) => x.id === id);
            expect(JSON.parse(row.body)).toEqual(JSON.parse(JSON.stringify(sent)));
          }
          // a replay is all duplicates (or the same rejections), never a second copy
          const again = await post(env);
          expect(again.json.accepted).toEqual([]);
          expect(count()).toBe(before + accepted.length);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('refuses non-JSON bodies, bad encodings and broken gzip with a clear 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom(
          { 'content-type': 'application/json' },
          { 'content-type': 'text/plain' },
          { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          { 'content-type': 'application/json', 'content-encoding': 'br' },
        ),
        async (bytes, headers) => {
          const before = count();
          const r = await post(Buffer.from(bytes), headers);
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
          expect(r.json?.error?.code).toMatch(/^HATANG_ERR_/);
          expect(count()).toBe(before);
        },
      ),
      { numRuns: 150 },
    );
    const health = await request(`${c.url}/healthz`, { dispatcher });
    expect(health.statusCode).toBe(200);
    await health.body.dump();
  });
});

describe('regressions found by fuzzing', () => {
  it('rejects a result with a __proto__ key alone instead of refusing the whole batch', async () => {
    const good = validResult(1);
    const raw = `{"schema":1,"sentAt":"${new Date().toISOString()}","clock":{"bootId":"b","uptimeMs":5},"results":[${JSON.stringify(good)},{"__proto__":{"polluted":true},"id":"${uuidv7()}"}]}`;
    const r = await post(raw);
    expect(r.status).toBe(200);
    expect(r.json.accepted).toEqual([good.id]);
    expect(r.json.rejected).toHaveLength(1);
    expect(({} as any).polluted).toBeUndefined();
  });
});
