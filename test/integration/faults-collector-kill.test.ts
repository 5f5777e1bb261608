import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, createLogger, Outbox, Uplink } from '@hatang/agent';
import { createRepo, openDb } from '@hatang/collector';
import type { Result } from '@hatang/shared';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper
import { startCollectorProcess } from '../helpers/collector-process.mjs';

// Fault suite: the collector is killed with SIGKILL during heavy ingest and restarted, while
// agents' wall clocks jump around. Every result must reach the collector exactly once, with the
// time it was really measured (re-based from boot id + uptime).
// Short form in CI; `pnpm test:faults` runs the full form (HATANG_FAULTS_FULL=1).
const FULL = process.env.HATANG_FAULTS_FULL === '1';
const AGENTS = FULL ? 200 : 20;
const PER_AGENT = FULL ? 2000 : 300;
const KILLS = FULL ? 5 : 2;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An agent clock whose uptime is real but whose wall clock jumps (no RTC, NTP steps). */
function jumpyClock(bootId: string, bootAt: number): Clock & { trueTimeOf(uptimeMs: number): number } {
  let n = 0;
  const jumps = [0, -50 * 365 * 86_400_000, 3_600_000 * 24 * 400, -90_000];
  return {
    now: () => Date.now() + (jumps[n++ % jumps.length] as number),
    stamp: () => ({ bootId, uptimeMs: Date.now() - bootAt }),
    trueTimeOf: (uptimeMs) => bootAt + uptimeMs,
  };
}

function latencyResult(id: string, wall: number, bootId: string, uptimeMs: number): Result {
  return {
    id,
    kind: 'latency',
    startedAt: new Date(wall).toISOString(),
    clock: { bootId, uptimeMs },
    durationMs: 25,
    status: 'ok',
    network: { access: 'fixed', family: 4 },
    bytesUsed: 5700,
    agentVersion: '0.1.0',
    latency: {
      method: 'http',
      stats: { samples: 19, minMs: 1, medianMs: 2, meanMs: 2, p90Ms: 3, jitterMs: 0.1, stdDevMs: 0.2 },
    },
  } as Result;
}

describe(`collector SIGKILL during heavy ingest (${FULL ? 'full' : 'short'} form)`, () => {
  it('delivers every result exactly once with the time it was measured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatang-fault-kill-'));
    dirs.push(dir);
    const db = openDb({ path: join(dir, 'hatang.db') });
    const repo = createRepo(db);
    const tokens = Array.from(
      { length: AGENTS },
      (_, i) => repo.addAgent({ name: `a${i}`, access: 'fixed' }, Date.now()).token,
    );
    db.close();

    const log = createLogger('silent');
    const truth = new Map<string, number>();
    const agents = tokens.map((token, a) => {
      const bootId = `boot-${a}`;
      const bootAt = Date.now() - 10 * 86_400_000; // booted ten days ago
      const clock = jumpyClock(bootId, bootAt);
      const outbox = Outbox.inDir(join(dir, `agent-${a}`));
      for (let i = 0; i < PER_AGENT; i++) {
        const uptime = Date.now() - bootAt - (PER_AGENT - i) * 60_000;
        const id = uuidv7();
        truth.set(id, clock.trueTimeOf(uptime));
        outbox.enqueue(latencyResult(id, clock.now(), bootId, uptime), Date.now());
      }
      return { token, clock, outbox };
    });

    const t0 = Date.now();
    let collector = await startCollectorProcess({ dir });
    const port = collector.port;
    const uplinks = agents.map(
      (ag) =>
        new Uplink({
          collectorUrl: collector.url,
          token: ag.token,
          outbox: ag.outbox,
          clock: { now: Date.now, stamp: ag.clock.stamp },
          log,
          batchSize: 25,
          minBackoffMs: 50,
          maxBackoffMs: 500,
        }),
    );
    let stop = false;
    const pushers = uplinks.map(async (up, i) => {
      while (!stop && agents[i]!.outbox.depth().count > 0) {
        const d = await up.drain();
        if (d.last.kind === 'retry') await new Promise((r) => setTimeout(r, Math.min(d.last.afterMs, 500)));
      }
    });

    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 300 + k * 100));
      await collector.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      collector = await startCollectorProcess({ dir, port });
    }
    console.log(
      `faults: kills done at ${Date.now() - t0} ms, remaining ${agents.reduce((s, a) => s + a.outbox.depth().count, 0)}`,
    );
    const deadline = Date.now() + (FULL ? 600_000 : 60_000);
    const timer = setTimeout(() => (stop = true), deadline - Date.now());
    await Promise.all(pushers);
    clearTimeout(timer);
    console.log(`faults: drained at ${Date.now() - t0} ms`);
    await collector.kill('SIGTERM');

    for (const ag of agents) {
      expect(ag.outbox.depth().count).toBe(0);
      expect(ag.outbox.deadLetterCount()).toBe(0);
      ag.outbox.close();
    }
    const check = openDb({ path: join(dir, 'hatang.db') });
    const rows = check.prepare('SELECT id, started_at, time_trusted FROM results').all() as Array<{
      id: string;
      started_at: number;
      time_trusted: number;
    }>;
    check.close();
    expect(rows.length).toBe(AGENTS * PER_AGENT);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    let worst = 0;
    for (const r of rows) {
      const t = truth.get(r.id);
      expect(t, `unknown id ${r.id}`).toBeDefined();
      expect(r.time_trusted).toBe(1);
      worst = Math.max(worst, Math.abs(r.started_at - (t as number)));
    }
    console.log(`faults: ${rows.length} results after ${KILLS} SIGKILLs, worst time error ${worst} ms`);
    expect(worst).toBeLessThan(2_000);
  }, 900_000);
});
