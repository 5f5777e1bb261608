// The agent daemon against a real collector on loopback, time driven by hand (ManualClock): the
// schedule fires, real latency tests run against a real test server, pushes go over real HTTP.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger,
  Daemon,
  latencyProbe,
  loadAgentConfig,
  ManualClock,
  Outbox,
  readCentralCache,
  runProbe,
  skewedClock,
  systemClock,
  Uplink,
} from '@hatang/agent';
import { startCollector, type TestCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS, mergeConfig, type Result } from '@hatang/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loaded, onlyTests, uuidv7, writeConfig } from '../helpers/agent.js';

const MIN = 60_000;
const log = createLogger('silent');

let dir: string;
let speed: TestCollector;
const cleanup: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-daemon-'));
  // The test server the probes measure against stays up; the collector is what goes down.
  speed = await startCollector({ role: 'speedtest' });
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  await speed.close();
  rmSync(dir, { recursive: true, force: true });
});

function agentConfig(collectorUrl: string, token: string, extra: Record<string, unknown> = {}) {
  return {
    collector: { url: collectorUrl, token },
    stateDir: dir,
    servers: [{ id: 'ts', url: speed.url }],
    schedule: {
      splayMinutes: 0,
      startupDelaySeconds: 0,
      catchUp: false,
      tests: onlyTests({ latency: '*/10 * * * *' }),
    },
    central: { enabled: false },
    log: { level: 'silent' },
    ...extra,
  };
}

function storedRows(c: TestCollector) {
  return c.app.db
    .prepare('SELECT id, started_at, wall_at, received_at, time_trusted FROM results ORDER BY started_at')
    .all() as Array<{ id: string; started_at: number; wall_at: number; received_at: number; time_trusted: number }>;
}

describe('agent daemon → collector (injected clock)', () => {
  it('collector down for several scheduled runs, then back: every result delivered exactly once, times re-based', async () => {
    let down = true;
    let refused = 0;
    const batchClocks: Array<{ bootId: string; uptimeMs: number }> = [];
    const c = await startCollector({
      beforeListen: (app) => {
        app.addHook('onRequest', async (req, reply) => {
          if (down && req.url.startsWith('/api/')) {
            refused++;
            req.raw.socket.destroy();
            return reply;
          }
        });
        app.addHook('preHandler', async (req) => {
          if (req.url === '/api/v1/results')
            batchClocks.push((req.body as { clock: { bootId: string; uptimeMs: number } }).clock);
        });
      },
    });
    cleanup.push(() => c.close());
    const { token } = c.addAgent('commune-a');
    // The box booted without a real-time clock: its wall clock says 2001.
    const clock = new ManualClock(Date.UTC(2001, 0, 1, 0, 0), { bootId: 'boot-1', uptimeMs: 50_000 });
    const results: Result[] = [];
    const daemon = await Daemon.create({
      load: () => loaded(agentConfig(c.url, token)),
      log,
      clock,
      random: () => 0.5,
      probes: { latency: latencyProbe },
      onResult: (r) => results.push(r),
    });
    cleanup.push(() => daemon.stop());
    await daemon.start();
    for (let i = 0; i < 5; i++) {
      await clock.advance(10 * MIN);
      await daemon.idle();
    }
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(daemon.outbox.depth().count).toBe(5);
    expect(c.app.repo.countResults()).toBe(0);
    // It kept trying, with backoff, not on every tick: 50 minutes of outage, a dozen attempts at most.
    expect(refused).toBeGreaterThanOrEqual(5);
    expect(refused).toBeLessThanOrEqual(14);
    expect(daemon.uplink.state().lastError).toMatch(/collector unreachable/);

    down = false;
    for (let i = 0; i < 20 && daemon.outbox.depth().count > 0; i++) {
      await clock.advance(MIN);
      await daemon.idle();
    }
    // The batch that delivered the backlog, stamped with the boot and uptime at send time.
    const sent = batchClocks[0]!;
    expect(sent.bootId).toBe('boot-1');
    expect(daemon.outbox.depth().count).toBe(0);
    // One more scheduled run after recovery is pushed right away.
    await clock.advance(10 * MIN);
    await daemon.idle();

    const rows = storedRows(c);
    expect(rows).toHaveLength(results.length);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(rows.map((r) => r.id).sort()).toEqual(results.map((r) => r.id).sort());
    expect(daemon.outbox.depth().count).toBe(0);

    // Re-based on the collector's clock from boot id + uptime: real time, spacing kept, 2001 nowhere.
    const first5 = rows.slice(0, 5);
    for (const r of rows) {
      expect(r.time_trusted).toBe(1);
      expect(new Date(r.wall_at).getUTCFullYear()).toBe(2001);
      expect(Math.abs(r.started_at - Date.now())).toBeLessThan(3 * 3_600_000);
    }
    expect(first5.slice(1).map((r, i) => r.started_at - first5[i]!.started_at)).toEqual([
      10 * MIN,
      10 * MIN,
      10 * MIN,
      10 * MIN,
    ]);
    const last = results[4]!;
    expect(last.clock.uptimeMs).toBe(50_000 + 50 * MIN);
    expect(first5[4]!.started_at).toBe(first5[4]!.received_at - (sent.uptimeMs - last.clock.uptimeMs));
    expect(sent.uptimeMs - last.clock.uptimeMs).toBeGreaterThan(0);
  });

  it('collector answering 429 with Retry-After: the agent waits exactly as told, then delivers', async () => {
    const asks: number[] = [];
    let clock: ManualClock | undefined;
    const c = await startCollector({
      beforeListen: (app) => {
        app.addHook('onRequest', async (req, reply) => {
          if (req.url !== '/api/v1/results') return;
          asks.push(clock!.now());
          if (asks.length === 1) {
            return reply
              .code(429)
              .header('retry-after', '120')
              .send({ error: { code: 'HATANG_ERR_RATE_LIMITED', message: 'too many pushes' } });
          }
        });
      },
    });
    cleanup.push(() => c.close());
    const { token } = c.addAgent();
    clock = new ManualClock(Date.UTC(2025, 5, 1, 0, 0));
    const daemon = await Daemon.create({
      load: () => loaded(agentConfig(c.url, token)),
      log,
      clock,
      random: () => 0.5,
      probes: { latency: latencyProbe },
    });
    cleanup.push(() => daemon.stop());
    await daemon.start();
    await clock.advance(10 * MIN);
    await daemon.idle();
    expect(asks).toHaveLength(1);
    expect(daemon.uplink.state().lastError).toBe('collector busy (HTTP 429, Retry-After 120 s)');
    // 119 s later: not yet, although minute ticks and the push interval went by.
    for (let i = 0; i < 119; i++) await clock.advance(1000);
    await daemon.idle();
    expect(asks).toHaveLength(1);
    expect(c.app.repo.countResults()).toBe(0);
    await clock.advance(1000);
    await daemon.idle();
    expect(asks).toHaveLength(2);
    expect(asks[1]! - asks[0]!).toBe(120_000);
    expect(c.app.repo.countResults()).toBe(1);
    expect(daemon.outbox.depth().count).toBe(0);
  });

  it('pulls central config with ETag (304 when unchanged), applies it, and keeps the last good copy', async () => {
    const statuses: number[] = [];
    let serveBad = false;
    const config = mergeConfig(COLLECTOR_CONFIG_DEFAULTS, {
      agents: {
        settings: {
          schedule: { tests: { latency: { cron: '*/5 * * * *' } } },
          budget: { monthlyMegabytes: 3000 },
        },
        allowLocalOverride: [],
      },
    }) as typeof COLLECTOR_CONFIG_DEFAULTS;
    const c = await startCollector({
      config,
      dir: join(dir, 'collector'),
      beforeListen: (app) => {
        app.addHook('onResponse', async (req, reply) => {
          if (req.url === '/api/v1/agent/config') statuses.push(reply.statusCode);
        });
        // On demand, a document the agent cannot run (a cron expression with hour 25).
        app.addHook('onRequest', async (req) => {
          if (serveBad && req.url === '/api/v1/agent/config') delete req.headers['if-none-match'];
        });
        app.addHook('onSend', async (req, reply, payload) => {
          if (!serveBad || req.url !== '/api/v1/agent/config') return payload;
          const doc = JSON.parse(String(payload));
          doc.settings.schedule.tests.latency.cron = '0 25 * * *';
          reply.header('etag', '"bad"');
          return JSON.stringify(doc);
        });
      },
    });
    const { token } = c.addAgent();
    const file = writeConfig(
      join(dir, 'agent.yaml'),
      agentConfig(c.url, token, { central: { enabled: true, pollMinutes: 60 }, budget: { monthlyMegabytes: 10 } }),
    );
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const make = () =>
      Daemon.create({
        load: (central) => loadAgentConfig({ file, env: {}, ...(central !== undefined ? { central } : {}) }),
        log,
        clock,
        probes: { latency: latencyProbe },
      });
    let daemon = await make();
    expect(daemon.scheduler.plan()[0]!.cron).toBe('*/10 * * * *');
    await daemon.start();
    await daemon.idle();
    expect(statuses).toEqual([200]);
    expect(daemon.scheduler.plan()[0]!.cron).toBe('*/5 * * * *');
    expect(daemon.config.budget.monthlyMegabytes).toBe(3000);
    expect(daemon.notes).toContain('budget.monthlyMegabytes: set by the province; the local value is ignored');
    const cached = readCentralCache(dir);
    expect(cached?.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    await clock.advance(60 * MIN);
    await daemon.idle();
    expect(statuses).toEqual([200, 304]);

    // A document this agent cannot run is refused; the last good copy stays in use and on disk.
    serveBad = true;
    await clock.advance(60 * MIN);
    await daemon.idle();
    expect(statuses).toEqual([200, 304, 200]);
    expect(daemon.centralError).toMatch(
      /^central config refused: schedule\.tests\.latency\.cron: "0 25 \* \* \*" is not a valid cron expression/,
    );
    expect(daemon.scheduler.plan()[0]!.cron).toBe('*/5 * * * *');
    expect(readCentralCache(dir)?.etag).toBe(cached?.etag);
    serveBad = false;
    await daemon.stop();

    // Collector gone: a restarted agent runs on the last good copy.
    await c.close();
    daemon = await make();
    expect(daemon.scheduler.plan()[0]!.cron).toBe('*/5 * * * *');
    await daemon.start();
    await daemon.idle();
    expect(daemon.centralError).toMatch(/collector unreachable/);
    expect(daemon.config.budget.monthlyMegabytes).toBe(3000);
    await daemon.stop();
    expect(existsSync(join(dir, 'central-config.json'))).toBe(true);
  });
});

describe('time re-basing of a result measured while the wall clock was wrong', () => {
  it('the collector places it at the true time from boot id and uptime, also after a reboot', async () => {
    const c = await startCollector();
    cleanup.push(() => c.close());
    const { token } = c.addAgent();
    const config = loaded(agentConfig(c.url, token)).config;
    const real = systemClock();
    // Three years behind, as a Pi without RTC that has not reached NTP yet.
    const wrong = skewedClock(real, -3 * 365 * 86_400_000);
    const outbox = Outbox.inDir(dir);
    cleanup.push(() => outbox.close());
    const before = Date.now();
    const r = await runProbe(latencyProbe, { config, clock: wrong, log });
    expect(new Date(r.startedAt).getUTCFullYear()).toBeLessThan(new Date().getUTCFullYear() - 2);
    outbox.enqueue(r, wrong.now());
    const up = new Uplink({ collectorUrl: c.url, token, outbox, clock: wrong, log });
    expect((await up.drain()).accepted).toBe(1);
    const row = storedRows(c)[0]!;
    expect(row.time_trusted).toBe(1);
    expect(row.wall_at).toBe(Date.parse(r.startedAt));
    expect(row.started_at).toBeGreaterThanOrEqual(before - 50);
    expect(row.started_at).toBeLessThanOrEqual(Date.now());

    // Boot A measures two results with a wrong clock and pushes the first; the box reboots
    // (boot B) before the second goes out. The collector re-bases it with boot A's offset.
    const stampClock = (bootId: string, uptimeMs: () => number) => ({
      now: () => Date.UTC(2001, 0, 1),
      stamp: () => ({ bootId, uptimeMs: uptimeMs() }),
    });
    let upA = 1_000_000;
    const a = stampClock('boot-A', () => upA);
    const r1 = { ...r, id: uuidv7(), clock: { bootId: 'boot-A', uptimeMs: 1_000_000 } };
    const r2 = { ...r, id: uuidv7(), clock: { bootId: 'boot-A', uptimeMs: 1_005_000 } };
    outbox.enqueue(r1 as Result, 0);
    upA = 1_010_000;
    const received1 = Date.now();
    expect((await new Uplink({ collectorUrl: c.url, token, outbox, clock: a, log }).drain()).accepted).toBe(1);
    outbox.enqueue(r2 as Result, 0);
    const b = stampClock('boot-B', () => 30_000);
    expect((await new Uplink({ collectorUrl: c.url, token, outbox, clock: b, log }).drain()).accepted).toBe(1);
    const byId = new Map(storedRows(c).map((x) => [x.id, x]));
    const s1 = byId.get(r1.id)!;
    const s2 = byId.get(r2.id)!;
    expect(s1.time_trusted).toBe(1);
    expect(s2.time_trusted).toBe(1);
    expect(s2.started_at - s1.started_at).toBe(5_000);
    expect(Math.abs(s1.started_at - (received1 - 10_000))).toBeLessThan(2_000);
  });
});
