// Fault suite: the agent's wall clock jumps (NTP steps, a Pi without RTC falling back to 2001, a
// wild step forward) while the daemon keeps measuring on its schedule and the collector is out of
// reach. The real Daemon (in-process, time injected with ManualClock: the daemon process has no
// clock injection) runs real latency tests against a real test server and pushes over real HTTP.
// When the collector is back, every result arrives exactly once and the collector re-bases each
// from boot id + uptime: the spacing between results is the true (monotonic) spacing, whatever the
// wall clock said. Complements daemon-delivery.test.ts, where the wall clock is wrong but steady.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, Daemon, latencyProbe, ManualClock } from '@hatang/agent';
import { startCollector, type TestCollector } from '@hatang/collector';
import type { Result } from '@hatang/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loaded, onlyTests } from '../helpers/agent.js';

const MIN = 60_000;
const DAY = 86_400_000;
const FULL = process.env.HATANG_FAULTS_FULL === '1';
const log = createLogger('silent');

let dir: string;
let speed: TestCollector;
const cleanup: Array<() => Promise<void> | void> = [];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-fault-clock-'));
  speed = await startCollector({ role: 'speedtest' });
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  await speed.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('agent wall clock jumping while the daemon measures', () => {
  it('results measured across clock jumps are delivered once each and re-based to their true spacing', async () => {
    let down = true;
    const c = await startCollector({
      beforeListen: (app) => {
        app.addHook('onRequest', async (req, reply) => {
          if (down && req.url.startsWith('/api/')) {
            req.raw.socket.destroy();
            return reply;
          }
        });
      },
    });
    cleanup.push(() => c.close());
    const { token } = c.addAgent('commune-clock');
    const clock = new ManualClock(Date.now(), { bootId: 'boot-jumpy', uptimeMs: 3 * DAY });
    const results: Result[] = [];
    const daemon = await Daemon.create({
      load: () =>
        loaded({
          collector: { url: c.url, token },
          stateDir: dir,
          servers: [{ id: 'ts', url: speed.url }],
          schedule: {
            splayMinutes: 0,
            startupDelaySeconds: 0,
            catchUp: false,
            tests: onlyTests({ latency: '*/10 * * * *' }),
          },
          central: { enabled: false },
          uplink: { intervalMs: MIN },
          log: { level: 'silent' },
        }),
      log,
      clock,
      random: () => 0.5,
      probes: { latency: latencyProbe },
      onResult: (r) => results.push(r),
    });
    cleanup.push(() => daemon.stop());
    await daemon.start();

    // Steps of the wall clock between runs: NTP corrections both ways, a fall back to 2001 (no
    // RTC), a step 400 days ahead, and back to the right time.
    const steps: Array<() => number> = [
      () => -90_000,
      () => Date.UTC(2001, 0, 1) - clock.now(),
      () => Date.now() + 400 * DAY - clock.now(),
      () => 37_000,
      () => Date.now() - clock.now(),
    ];
    const rounds = FULL ? 4 : 1;
    for (let k = 0; k < rounds; k++) {
      for (const step of steps) {
        await clock.advance(25 * MIN);
        await daemon.idle();
        clock.stepWall(step());
      }
    }
    // Back to the true wall clock for the end of the outage.
    clock.stepWall(Date.now() - clock.now());
    await clock.advance(25 * MIN);
    await daemon.idle();
    const measured = results.length;
    // The schedule kept running through every jump: about two runs per 25 minutes, never a burst.
    expect(measured).toBeGreaterThanOrEqual(steps.length * rounds * 2);
    expect(measured).toBeLessThanOrEqual((steps.length * rounds + 1) * 3 + 1);
    expect(c.app.repo.countResults()).toBe(0);
    // The results' own wall times show the jumps really happened.
    const years = new Set(results.map((r) => new Date(r.startedAt).getUTCFullYear()));
    expect(years.has(2001)).toBe(true);
    expect([...years].some((y) => y > new Date().getUTCFullYear())).toBe(true);

    down = false;
    for (let i = 0; i < 30 && daemon.outbox.depth().count > 0; i++) {
      await clock.advance(MIN);
      await daemon.idle();
    }
    expect(daemon.outbox.depth().count).toBe(0);
    const rows = c.app.db
      .prepare('SELECT id, started_at, wall_at, received_at, time_trusted FROM results')
      .all() as Array<{ id: string; started_at: number; wall_at: number; received_at: number; time_trusted: number }>;
    expect(rows).toHaveLength(results.length);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(rows.map((r) => r.id).sort()).toEqual(results.map((r) => r.id).sort());

    // Re-based: trusted, and the gaps between results are the uptime gaps (true time), exactly.
    const byId = new Map(rows.map((r) => [r.id, r]));
    const first = results[0]!;
    const r0 = byId.get(first.id)!;
    for (const r of results) {
      const row = byId.get(r.id)!;
      expect(row.time_trusted).toBe(1);
      expect(row.started_at - r0.started_at).toBe(r.clock.uptimeMs - first.clock.uptimeMs);
      expect(row.started_at).toBeLessThanOrEqual(row.received_at);
    }
    // And none of them is placed in 2001 or in the future.
    const span = results.at(-1)!.clock.uptimeMs - first.clock.uptimeMs;
    expect(Math.max(...rows.map((r) => r.received_at)) - r0.started_at).toBeGreaterThanOrEqual(span);
    for (const row of rows) expect(Math.abs(row.started_at - Date.now())).toBeLessThan(span + 2 * 3_600_000);
    console.log(
      `faults-clock: ${rows.length} results across ${steps.length * rounds} wall-clock jumps, all re-based (years on the agent's clock: ${[...years].sort().join(', ')})`,
    );
  }, 120_000);
});
