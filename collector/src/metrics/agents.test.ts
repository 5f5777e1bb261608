import { describe, expect, it } from 'vitest';
import { openDb } from '../storage/db.js';
import { createRepo, type StoredResult } from '../storage/repo.js';
import { AGENTS_LATEST_SQL, createAgentQueries } from './agents.js';
import { downloadBuckets, mbpsToBytesPerSecond, targetValuesMbps } from './buckets.js';

function row(over: Partial<StoredResult> & Pick<StoredResult, 'id' | 'agentId' | 'kind' | 'startedAt'>): StoredResult {
  return {
    status: 'ok',
    wallAt: over.startedAt,
    receivedAt: over.startedAt,
    timeTrusted: true,
    access: 'fixed',
    family: 4,
    isp: null,
    serverId: null,
    downloadBps: null,
    uploadBps: null,
    latencyMs: null,
    jitterMs: null,
    lossPct: null,
    bytesUsed: 0,
    agentLimited: false,
    body: '{}',
    ...over,
  };
}

describe('per-agent statement', () => {
  it('reads each figure with one indexed lookup per agent: no table scan, no sort', () => {
    const db = openDb({ path: ':memory:' });
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${AGENTS_LATEST_SQL}`).all() as { detail: string }[]).map(
      (r) => r.detail,
    );
    const lookups = plan.filter((d) => d.startsWith('SEARCH r USING INDEX results_agent_kind_time'));
    expect(lookups).toHaveLength(4);
    expect(plan.filter((d) => /SCAN r\b|TEMP B-TREE/.test(d))).toEqual([]);
    db.close();
  });

  it('takes latency from whichever is newer: the latest latency test or the latest speed test', () => {
    const db = openDb({ path: ':memory:' });
    const repo = createRepo(db);
    const { agent: a } = repo.addAgent({ name: 'a', access: 'fixed', communeCode: '04045' }, 0);
    const { agent: b } = repo.addAgent({ name: 'b', access: 'mobile' }, 0);
    let n = 0;
    const id = () => `0190000${String(n++).padStart(2, '0')}-0000-7000-8000-000000000000`;
    // a: speed (9 ms) at t=100, then a latency test (20 ms) at t=200, then a failed speed test at 300.
    repo.insertResult(row({ id: id(), agentId: a.id, kind: 'speed', startedAt: 100, downloadBps: 8e7, latencyMs: 9 }));
    repo.insertResult(row({ id: id(), agentId: a.id, kind: 'latency', startedAt: 200, latencyMs: 20, jitterMs: 3 }));
    repo.insertResult(row({ id: id(), agentId: a.id, kind: 'speed', startedAt: 300, status: 'error' }));
    // b: latency (30 ms) at t=100, then speed (40 ms) at t=200; UDP loss 2 % at 150, 4 % at 50.
    repo.insertResult(row({ id: id(), agentId: b.id, kind: 'latency', startedAt: 100, latencyMs: 30, jitterMs: 1 }));
    repo.insertResult(
      row({ id: id(), agentId: b.id, kind: 'speed', startedAt: 200, downloadBps: 3e7, latencyMs: 40, jitterMs: 2 }),
    );
    repo.insertResult(row({ id: id(), agentId: b.id, kind: 'udp', startedAt: 150, lossPct: 2 }));
    repo.insertResult(row({ id: id(), agentId: b.id, kind: 'udp', startedAt: 50, lossPct: 4 }));
    const got = createAgentQueries(db).latest((c) => (c === '04045' ? '123' : ''));
    const by = Object.fromEntries(got.map((g) => [g.labels.agent, g]));
    expect(by[a.id]).toMatchObject({
      labels: { commune: '04045', district: '123', access: 'fixed', isp: '' },
      downloadBps: 8e7,
      latencyS: 0.02,
      jitterS: 0.003,
      lossRatio: null,
      lastSpeedTestS: 0.1,
      lastSeenS: 0, // never delivered a batch: its registration time
    });
    expect(by[b.id]).toMatchObject({ downloadBps: 3e7, latencyS: 0.04, jitterS: 0.002, lossRatio: 0.02 });
    db.close();
  });
});

describe('download histogram edges', () => {
  it.each([
    ['no configured targets', {}, []],
    ['a configured later year', { 2026: { fixed: 100, mobile: 50 } }, [100, 80, 50, 40]],
  ])('include every plan target and 0.8 × it, in bytes/s (%s)', (_n, table, extra) => {
    const edges = downloadBuckets(targetValuesMbps(table));
    for (const mbps of [33, 36, 40, 88, 89, 90, 26.4, 28.8, 32, 70.4, 71.2, 72, ...extra]) {
      expect(edges).toContain(mbpsToBytesPerSecond(mbps));
    }
    expect(edges).toEqual([...new Set(edges)].sort((x, y) => x - y));
    expect(mbpsToBytesPerSecond(90)).toBe(11_250_000);
  });
});
