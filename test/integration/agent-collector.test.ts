import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  createLogger,
  latencyProbe,
  loadConfig,
  Outbox,
  runProbe,
  speedProbe,
  systemClock,
  Uplink,
} from '@hatang/agent';
import { startCollector, type TestCollector } from '@hatang/collector';
import type { Result } from '@hatang/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let c: TestCollector;
let dir: string;

beforeEach(async () => {
  c = await startCollector();
  dir = mkdtempSync(join(tmpdir(), 'hatang-agent-'));
});
afterEach(async () => {
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

function configFor(token: string) {
  return loadConfig({
    env: {
      HATANG_COLLECTOR_URL: c.url,
      HATANG_COLLECTOR_TOKEN: token,
      HATANG_STATE_DIR: dir,
      HATANG_SPEED_WINDOW_MS: '1000',
      HATANG_SPEED_CAP_BYTES: '20000000',
    },
  });
}

async function post(token: string | undefined, body: unknown, gzip = false) {
  const raw = JSON.stringify(body);
  const res = await fetch(`${c.url}/api/v1/results`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    },
    body: gzip ? gzipSync(raw) : raw,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('agent → collector', () => {
  it('measures against the collector, pushes, and results land with the agent id from the token', async () => {
    const { id, token } = c.addAgent('commune-a');
    const config = configFor(token);
    const clock = systemClock();
    const log = createLogger('silent');
    const outbox = Outbox.inDir(dir);
    for (const probe of [latencyProbe, speedProbe]) {
      const r = await runProbe(probe, { config, clock, log, timeoutMs: 30_000 });
      expect(r.status, JSON.stringify(r.error)).toBe('ok');
      outbox.enqueue(r, clock.now());
    }
    // One result per push, so the first push leaves the speed result waiting behind it.
    const up = new Uplink({ collectorUrl: c.url, token, outbox, clock, log, batchSize: 1 });
    expect(c.app.repo.agentStatus(id)).toBeUndefined();
    expect(await up.pushOnce()).toMatchObject({ kind: 'sent', accepted: 1 });
    const waiting = c.app.repo.agentStatus(id);
    expect(waiting).toMatchObject({ queued: 1, oldestTrusted: true, deadLetters: 0, dropped: 0 });
    const d = await up.drain();
    expect(d).toMatchObject({ accepted: 1, duplicate: 0, rejected: 0, last: { kind: 'empty' } });
    expect(outbox.depth().count).toBe(0);
    outbox.close();
    // The push that emptied the outbox says nothing waits any more.
    expect(c.app.repo.agentStatus(id)).toMatchObject({ queued: 0, oldestQueuedAt: null, deadLetters: 0, dropped: 0 });
    // The waiting result's start was re-based from its boot id and uptime, like the result itself
    // (within the transit time the two batches' stamps may differ by).
    const speedAt = (c.app.db.prepare("SELECT started_at FROM results WHERE kind = 'speed'").get() as any).started_at;
    expect(Math.abs((waiting?.oldestQueuedAt as number) - speedAt)).toBeLessThan(1_000);

    const rows = c.app.db
      .prepare('SELECT agent_id, kind, download_bps, upload_bps, latency_ms, time_trusted FROM results ORDER BY kind')
      .all() as any[];
    expect(rows.map((r) => [r.agent_id, r.kind])).toEqual([
      [id, 'latency'],
      [id, 'speed'],
    ]);
    const speed = rows[1];
    expect(speed.download_bps).toBeGreaterThan(1e6);
    expect(speed.upload_bps).toBeGreaterThan(1e6);
    expect(speed.latency_ms).toBeGreaterThan(0);
    expect(speed.time_trusted).toBe(1);
  });

  it('stores a replayed batch once and reports duplicates; a bad result is rejected alone; gzip works', async () => {
    const { token } = c.addAgent();
    const config = configFor(token);
    const r1 = await runProbe(latencyProbe, { config, clock: systemClock(), log: createLogger('silent') });
    const r2 = await runProbe(latencyProbe, { config, clock: systemClock(), log: createLogger('silent') });
    const bad = {
      ...(await runProbe(latencyProbe, { config, clock: systemClock(), log: createLogger('silent') })),
    } as any;
    bad.network = { ...bad.network, access: 'satellite' };
    const env = { schema: 1, sentAt: new Date().toISOString(), clock: systemClock().stamp(), results: [r1, bad, r2] };

    const first = await post(token, env, true);
    expect(first.status).toBe(200);
    expect(first.body.accepted).toEqual([r1.id, r2.id]);
    expect(first.body.rejected).toEqual([
      { id: bad.id, code: 'HATANG_ERR_VALIDATION', message: '/network/access must be one of "fixed", "mobile"' },
    ]);

    const again = await post(token, env);
    expect(again.body).toEqual({ accepted: [], duplicate: [r1.id, r2.id], rejected: first.body.rejected });
    expect(c.app.repo.countResults()).toBe(2);
  });

  it('refuses a missing, malformed, unknown or revoked token with 401', async () => {
    const { id, token } = c.addAgent();
    const env = { schema: 1, sentAt: new Date().toISOString(), clock: { bootId: 'b', uptimeMs: 1 }, results: [] };
    expect((await post(undefined, env)).status).toBe(401);
    expect((await post('nonsense', env)).status).toBe(401);
    const forged = token.slice(0, -4) + 'AAAA';
    const r = await post(forged, env);
    expect(r).toEqual({
      status: 401,
      body: { error: expect.objectContaining({ code: 'HATANG_ERR_UNAUTHORIZED', message: 'unknown agent token' }) },
    });
    expect((await post(token, env)).status).toBe(200);
    c.app.repo.revokeAgent(id, Date.now());
    expect((await post(token, env)).body.error.message).toBe('agent token revoked');
  });

  it("rejects another agent's result ids without touching the stored result", async () => {
    const a = c.addAgent('a');
    const b = c.addAgent('b');
    const config = configFor(a.token);
    const r: Result = await runProbe(latencyProbe, { config, clock: systemClock(), log: createLogger('silent') });
    const env = { schema: 1, sentAt: new Date().toISOString(), clock: systemClock().stamp(), results: [r] };
    expect((await post(a.token, env)).body.accepted).toEqual([r.id]);
    const stolen = await post(b.token, env);
    expect(stolen.body.rejected).toEqual([
      { id: r.id, code: 'HATANG_ERR_ID_TAKEN', message: '/id belongs to another agent' },
    ]);
    const owner = c.app.db.prepare('SELECT agent_id FROM results WHERE id = ?').get(r.id) as any;
    expect(owner.agent_id).toBe(a.id);
  });
});
