import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result } from '@hatang/shared';
import { OUTBOX_MEMORY_HOLD_MAX } from '@hatang/shared';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';

function fakeResult(over: Partial<Result> & { pad?: number } = {}): Result {
  const { pad, ...rest } = over;
  return {
    id: uuidv7(),
    kind: 'latency',
    startedAt: new Date().toISOString(),
    clock: { bootId: 'b', uptimeMs: 1000 },
    durationMs: 100,
    status: 'ok',
    network: { access: 'fixed', family: 4, ...(pad ? { isp: 'x'.repeat(pad) } : {}) },
    bytesUsed: 100,
    agentVersion: '0.1.0',
    ...rest,
  } as Result;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-outbox-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('outbox', () => {
  it('keeps results across a reopen, in order, once per id', () => {
    const a = fakeResult();
    const b = fakeResult();
    let o = Outbox.inDir(dir);
    o.enqueue(a, 1);
    o.enqueue(b, 2);
    o.enqueue(a, 3);
    o.close();
    o = Outbox.inDir(dir);
    expect(o.peek(10).map((r) => r.id)).toEqual([a.id, b.id]);
    expect(o.depth()).toMatchObject({ count: 2, oldest: 1 });
    expect(o.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(o.db.pragma('journal_mode', { simple: true })).toBe('wal');
    o.close();
  });

  it('peek stops at the byte limit of a batch but always returns one', () => {
    const o = Outbox.inDir(dir);
    for (let i = 0; i < 5; i++) o.enqueue(fakeResult({ pad: 400 }), i);
    const size = Buffer.byteLength(JSON.stringify(o.peek(1)[0]));
    expect(o.peek(500, size * 2 + 2)).toHaveLength(2);
    expect(o.peek(500, 10)).toHaveLength(1);
    expect(o.peek(3)).toHaveLength(3);
    o.close();
  });

  it('settles acknowledged results and moves rejected ones to dead letters with the reason', () => {
    const o = Outbox.inDir(dir);
    const [a, b, c] = [fakeResult(), fakeResult(), fakeResult()];
    for (const r of [a, b, c]) o.enqueue(r, 5);
    const s = o.settle([a.id], [{ id: b.id, code: 'HATANG_ERR_VALIDATION', message: '/x is bad' }], 9);
    expect(s).toEqual({ deleted: 1, dead: 1 });
    expect(o.peek(10).map((r) => r.id)).toEqual([c.id]);
    expect(o.deadLetters()).toEqual([
      { id: b.id, kind: 'latency', created_at: 5, failed_at: 9, code: 'HATANG_ERR_VALIDATION', message: '/x is bad' },
    ]);
    expect(o.deadLetterBody(b.id)).toEqual(b);
    o.close();
  });

  it('bounds disk use: past maxBytes the oldest pending results are dropped and counted, never the newest', () => {
    const drops: number[] = [];
    const o = Outbox.inDir(dir, { maxBytes: 5_000 }, { onDrop: (n) => drops.push(n) });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = fakeResult({ pad: 300 });
      ids.push(r.id);
      o.enqueue(r, i);
    }
    const d = o.depth();
    expect(d.bytes).toBeLessThanOrEqual(5_000);
    expect(d.count).toBeGreaterThan(5);
    const kept = o.peek(100).map((r) => r.id);
    expect(kept).toEqual(ids.slice(ids.length - d.count));
    expect(o.stats().dropped).toBe(20 - d.count);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(20 - d.count);
    // A single result larger than the bound is still kept.
    const tiny = Outbox.inDir(join(dir, 'tiny'), { maxBytes: 10 });
    const big = fakeResult({ pad: 500 });
    tiny.enqueue(big, 1);
    expect(tiny.peek(5).map((r) => r.id)).toEqual([big.id]);
    tiny.close();
    o.close();
  });

  it('status(): what stays queued behind a batch, its oldest with its own times, dead letters and drops', () => {
    const o = Outbox.inDir(dir, { maxBytes: 3_000 });
    const empty = o.status(0);
    expect(empty).toEqual({ queued: 0, deadLetters: 0, dropped: 0 });
    const rs = Array.from({ length: 5 }, (_, i) =>
      fakeResult({
        startedAt: new Date(Date.UTC(2026, 10, 20, i)).toISOString(),
        clock: { bootId: `boot-${i}`, uptimeMs: 1000 + i },
      }),
    );
    for (const [i, r] of rs.entries()) o.enqueue(r, 10 + i);
    // Nothing sent yet: all five wait, the first queued is the oldest.
    expect(o.status(0)).toEqual({
      queued: 5,
      oldestQueued: { startedAt: rs[0]!.startedAt, clock: rs[0]!.clock },
      deadLetters: 0,
      dropped: 0,
    });
    // A batch of two on its way: three stay behind it, the third is next.
    expect(o.status(2)).toMatchObject({
      queued: 3,
      oldestQueued: { startedAt: rs[2]!.startedAt, clock: rs[2]!.clock },
    });
    // The whole queue in the batch: nothing waits behind it.
    expect(o.status(5)).toEqual({ queued: 0, deadLetters: 0, dropped: 0 });
    expect(o.status(500)).toEqual({ queued: 0, deadLetters: 0, dropped: 0 });
    // One refused, one acknowledged.
    o.settle([rs[0]!.id], [{ id: rs[1]!.id, code: 'HATANG_ERR_VALIDATION', message: 'bad' }], 20);
    expect(o.status(0)).toMatchObject({ queued: 3, deadLetters: 1, oldestQueued: { startedAt: rs[2]!.startedAt } });
    // Past the disk bound the oldest are dropped, and counted.
    for (let i = 0; i < 10; i++) o.enqueue(fakeResult({ pad: 500 }), 30 + i);
    const st = o.status(0);
    expect(st.dropped).toBeGreaterThan(0);
    expect(st.dropped).toBe(o.stats().dropped);
    expect(st.queued).toBe(o.depth().count);
    o.close();
  });

  it('keeps at most maxDeadLetters, newest first', () => {
    const o = Outbox.inDir(dir, { maxDeadLetters: 10 });
    for (let i = 0; i < 25; i++) {
      const r = fakeResult();
      o.enqueue(r, i);
      o.settle([], [{ id: r.id, code: 'HATANG_ERR_VALIDATION', message: `bad ${i}` }], 100 + i);
    }
    expect(o.deadLetterCount()).toBe(10);
    expect(o.deadLetters(1)[0]!.message).toBe('bad 24');
    o.close();
  });

  it('records runs, trims them, and reports the latest per kind and last starts', () => {
    const o = Outbox.inDir(dir, { keepRuns: 10 });
    const run = (kind: string, t: number, outcome = 'done') =>
      o.recordRun({
        kind,
        reason: 'scheduled',
        planned_at: t,
        started_at: outcome === 'skipped' ? null : t,
        ended_at: outcome === 'skipped' ? null : t + 1,
        outcome,
        detail: null,
        result_id: null,
        status: 'ok',
        summary: `${kind}@${t}`,
        bytes: 1,
      });
    for (let i = 0; i < 15; i++) run(i % 2 ? 'speed' : 'latency', i);
    run('speed', 100, 'skipped');
    expect(o.recentRuns(100)).toHaveLength(10);
    expect(o.latestRuns().map((r) => [r.kind, r.summary])).toEqual([
      ['latency', 'latency@14'],
      ['speed', 'speed@13'],
    ]);
    expect(o.lastStarts()).toEqual({ latency: 14, speed: 13 });
    o.close();
  });

  it('upgrades a first-cut outbox file without losing its queue', () => {
    const path = join(dir, 'outbox.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE outbox (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
      created_at INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE dead_letters (id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at INTEGER NOT NULL,
      failed_at INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
    const r = fakeResult();
    old
      .prepare('INSERT INTO outbox (id, kind, created_at, body) VALUES (?, ?, ?, ?)')
      .run(r.id, r.kind, 7, JSON.stringify(r));
    old.close();
    const o = new Outbox(path);
    expect(o.peek(5)).toEqual([r]);
    expect(o.depth().bytes).toBe(Buffer.byteLength(JSON.stringify(r)));
    expect(o.db.pragma('user_version', { simple: true })).toBe(2);
    o.close();
  });
});

describe('a full disk (SQLite cannot write)', () => {
  /** Cap the file at its current size: the next page it needs fails with SQLITE_FULL. */
  function fillUp(o: Outbox): void {
    o.db.pragma('wal_checkpoint(TRUNCATE)');
    const pages = o.db.pragma('page_count', { simple: true }) as number;
    o.db.pragma(`max_page_count = ${pages}`);
  }

  it('holds results in memory instead of throwing, pushes them from memory, writes them when room returns', () => {
    let holds = 0;
    const o = Outbox.inDir(dir, {}, { onHold: () => holds++ });
    const first = fakeResult();
    o.enqueue(first, 1);
    fillUp(o);
    const big = Array.from({ length: 20 }, () => fakeResult({ pad: 2000 }));
    for (const r of big) o.enqueue(r, 2);
    expect(o.held()).toBeGreaterThan(0);
    expect(holds).toBe(o.held());
    // Nothing is lost: the file's and the held results are all pending, in order, for the uplink.
    expect(o.depth().count).toBe(21);
    expect(o.stats().held).toBe(o.held());
    const batch = o.peek(100);
    expect(batch.map((r) => r.id)).toEqual([first, ...big].map((r) => r.id));
    // status() counts held results too, and finds the next one in memory past the stored ones.
    const stored = o.depth().count - o.held();
    expect(o.status(0).queued).toBe(21);
    expect(o.status(stored + 1)).toMatchObject({
      queued: 21 - stored - 1,
      oldestQueued: { startedAt: big[stored]!.startedAt, clock: big[stored]!.clock },
    });
    // Acknowledged held results are forgotten even though the file cannot be written.
    const heldIds = big.slice(-3).map((r) => r.id);
    o.settle(heldIds, [], 3);
    expect(o.depth().count).toBe(18);
    // Room returns: the rest is written at the next peek, nothing dropped.
    o.db.pragma('max_page_count = 1073741823');
    expect(o.peek(100)).toHaveLength(18);
    expect(o.held()).toBe(0);
    o.close();
    const again = Outbox.inDir(dir);
    expect(again.depth().count).toBe(18);
    expect(again.stats().dropped).toBe(0);
    again.close();
  });

  it('past OUTBOX_MEMORY_HOLD_MAX drops the oldest held result and counts it', () => {
    let drops = 0;
    const o = Outbox.inDir(dir, {}, { onDrop: (n) => (drops += n) });
    o.enqueue(fakeResult(), 1);
    fillUp(o);
    const rs = Array.from({ length: OUTBOX_MEMORY_HOLD_MAX + 5 }, () => fakeResult({ pad: 2000 }));
    for (const r of rs) o.enqueue(r, 2);
    const written = o.depth().count - o.held();
    expect(o.held()).toBe(OUTBOX_MEMORY_HOLD_MAX);
    expect(drops).toBe(rs.length - OUTBOX_MEMORY_HOLD_MAX - (written - 1));
    expect(o.stats().dropped).toBe(drops);
    // The newest are kept.
    expect(o.peek(OUTBOX_MEMORY_HOLD_MAX + 100, 1e9).at(-1)?.id).toBe(rs.at(-1)?.id);
    o.db.pragma('max_page_count = 1073741823');
    expect(o.flushHeld()).toBe(0);
    o.close();
    const again = Outbox.inDir(dir);
    expect(again.stats().dropped).toBe(drops);
    expect(again.depth().count).toBe(written + OUTBOX_MEMORY_HOLD_MAX);
    again.close();
  }, 30_000);

  it('other storage errors still throw', () => {
    const o = Outbox.inDir(dir);
    o.db.close();
    expect(() => o.enqueue(fakeResult(), 1)).toThrow();
  });
});
