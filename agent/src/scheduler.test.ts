import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { type JobSpec, type RunEvent, Scheduler, type SchedulerOptions } from './scheduler.js';
import { ManualClock } from './testing.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const log = createLogger('silent');
/** 2025-01-01 07:00:00 in Asia/Ho_Chi_Minh. */
const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
const local = (t: number) => new Date(t + 7 * HOUR).toISOString().slice(0, 19).replace('T', ' ');

/** A deterministic random source cycling through the given values. */
function seq(...values: number[]) {
  let i = 0;
  return () => values[i++ % values.length]!;
}

interface Harness {
  clock: ManualClock;
  s: Scheduler;
  events: RunEvent[];
  starts: Array<{ kind: string; at: number; reason: string }>;
  /** Resolve the running test of `kind`. */
  finish(kind: string): void;
  maxConcurrent: number;
}

function harness(
  jobs: Array<Partial<JobSpec> & { kind: string; cron: string }>,
  o: Partial<SchedulerOptions> & { hold?: boolean; ignoreAbort?: boolean } = {},
): Harness {
  const clock = new ManualClock(T0);
  const events: RunEvent[] = [];
  const starts: Harness['starts'] = [];
  const open = new Map<string, () => void>();
  let running = 0;
  const h: Harness = {
    clock,
    events,
    starts,
    maxConcurrent: 0,
    finish: (kind) => open.get(kind)?.(),
    s: undefined as unknown as Scheduler,
  };
  h.s = new Scheduler({
    jobs: jobs.map((j) => ({ jitterMs: 0, timeoutMs: 10 * MIN, ...j })),
    timezone: 'Asia/Ho_Chi_Minh',
    splayMs: 0,
    startupDelayMs: 0,
    catchUp: false,
    clock,
    log,
    random: seq(0.5),
    onEvent: (e) => events.push(e),
    run: (kind, signal, reason) => {
      starts.push({ kind, at: clock.now(), reason });
      running++;
      h.maxConcurrent = Math.max(h.maxConcurrent, running);
      if (!o.hold) {
        running--;
        return Promise.resolve(`${kind}-result`);
      }
      return new Promise((resolve, reject) => {
        open.set(kind, () => {
          running--;
          resolve(`${kind}-result`);
        });
        if (!o.ignoreAbort)
          signal.addEventListener('abort', () => {
            running--;
            reject(signal.reason);
          });
      });
    },
    ...o,
  });
  return h;
}

describe('scheduler (injected clock, no sleeps)', () => {
  it('fires cron expressions in Asia/Ho_Chi_Minh, not UTC', async () => {
    const h = harness([{ kind: 'latency', cron: '0 8 * * *' }]);
    h.s.start();
    await h.clock.advance(59 * MIN);
    expect(h.starts).toEqual([]);
    await h.clock.advance(MIN);
    expect(h.starts.map((s) => local(s.at))).toEqual(['2025-01-01 08:00:00']);
    await h.clock.advance(24 * HOUR);
    expect(h.starts.map((s) => local(s.at))).toEqual(['2025-01-01 08:00:00', '2025-01-02 08:00:00']);
    expect(h.events.map((e) => e.outcome)).toEqual(['done', 'done']);
    expect(h.events[0]!.value).toBe('latency-result');
  });

  it("adds this agent's splay to every run and a fresh jitter to each", async () => {
    const rnd = seq(0, 1, 0.25, 0.75);
    const h = harness([{ kind: 'speed', cron: '0 */2 * * *', jitterMs: 30 * MIN }], {
      splayMs: 7 * MIN,
      random: rnd,
    });
    h.s.start();
    await h.clock.advance(12 * HOUR);
    // bases 08:00, 10:00, 12:00 …; +7 min splay; jitter (2r-1)·30 min = -30, +30, -15, +15 …
    expect(h.starts.map((s) => local(s.at).slice(11, 16))).toEqual([
      '07:37',
      '10:37',
      '11:52',
      '14:22',
      '15:37',
      '18:37',
    ]);
    const gaps = h.starts.slice(1).map((s, i) => (s.at - h.starts[i]!.at) / MIN);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(60);
    expect(new Set(gaps).size).toBeGreaterThan(1);
  });

  it('runs one test at a time: a kind due while another runs waits, then starts', async () => {
    const h = harness(
      [
        { kind: 'speed', cron: '0 * * * *', timeoutMs: 5 * HOUR },
        { kind: 'latency', cron: '0 * * * *' },
        { kind: 'ipv6', cron: '5 8 * * *' },
      ],
      { hold: true },
    );
    h.s.start();
    await h.clock.advance(HOUR);
    expect(h.starts.map((s) => s.kind)).toEqual(['speed']);
    expect(h.s.activity()).toEqual({ running: { kind: 'speed', startedAt: T0 + HOUR }, queued: ['latency'] });
    await h.clock.advance(10 * MIN);
    expect(h.s.activity().queued).toEqual(['latency', 'ipv6']);
    h.finish('speed');
    await h.clock.settle();
    expect(h.starts.map((s) => s.kind)).toEqual(['speed', 'latency']);
    h.finish('latency');
    await h.clock.settle();
    h.finish('ipv6');
    await h.clock.settle();
    expect(h.starts.map((s) => s.kind)).toEqual(['speed', 'latency', 'ipv6']);
    expect(h.maxConcurrent).toBe(1);
    await h.s.idle();
  });

  it('a kind that falls due again while its run is still queued or running is skipped, not stacked', async () => {
    const h = harness([{ kind: 'speed', cron: '*/10 * * * *', timeoutMs: 5 * HOUR }], { hold: true });
    h.s.start();
    await h.clock.advance(35 * MIN);
    expect(h.starts).toHaveLength(1);
    expect(h.events.map((e) => [e.outcome, e.detail])).toEqual([
      ['skipped', 'the previous run of this kind has not finished'],
      ['skipped', 'the previous run of this kind has not finished'],
    ]);
  });

  it('aborts a test that overruns and records it; abandons one that ignores the abort', async () => {
    const h = harness(
      [
        { kind: 'speed', cron: '0 * * * *', timeoutMs: 3 * MIN },
        { kind: 'latency', cron: '0 * * * *' },
      ],
      { hold: true, graceMs: 15_000 },
    );
    h.s.start();
    await h.clock.advance(HOUR + 3 * MIN - 1);
    expect(h.events).toEqual([]);
    await h.clock.advance(1);
    expect(h.events[0]).toMatchObject({ kind: 'speed', outcome: 'overrun', startedAt: T0 + HOUR });
    expect(h.events[0]!.detail).toMatch(/speed test overran its 180 s limit/);
    // The queue moved on at once.
    expect(h.starts.map((s) => s.kind)).toEqual(['speed', 'latency']);

    const stuck = harness([{ kind: 'speed', cron: '0 * * * *', timeoutMs: MIN }], {
      hold: true,
      ignoreAbort: true,
      graceMs: 15_000,
    });
    stuck.s.start();
    await stuck.clock.advance(HOUR + MIN + 14_999);
    expect(stuck.events).toEqual([]);
    await stuck.clock.advance(1);
    expect(stuck.events).toMatchObject([{ kind: 'speed', outcome: 'abandoned' }]);
    expect(stuck.s.activity().running).toBeUndefined();
    // The next hour runs again although the first never returned.
    await stuck.clock.advance(HOUR);
    expect(stuck.starts).toHaveLength(2);
    stuck.finish('speed'); // the late return is ignored
    await stuck.clock.settle();
    expect(stuck.events.filter((e) => e.outcome === 'done')).toHaveLength(0);
  });

  it('after the box was off, runs each kind once soon after start, never the missed runs in a burst', async () => {
    const h = harness(
      [
        { kind: 'latency', cron: '0 * * * *' },
        { kind: 'speed', cron: '0 */2 * * *' },
        { kind: 'ipv6', cron: '40 * * * *' },
      ],
      {
        catchUp: true,
        startupDelayMs: 30 * MIN,
        splayMs: 10 * MIN,
        random: seq(0, 0.5),
        // Off for 30 hours: 30 latency and 15 speed runs missed; ipv6 ran 5 minutes ago.
        lastRuns: { latency: T0 - 30 * HOUR, speed: T0 - 30 * HOUR, ipv6: T0 - 5 * MIN },
      },
    );
    h.s.start();
    // Catch-ups spread over [startup delay, + splay]; regular runs carry the 10-minute splay and
    // wait for the startup delay (latency's 07:10 run moved to 07:30 serves as its catch-up).
    expect(h.s.plan().map((p) => [p.kind, p.reason, local(p.nextAt)])).toEqual([
      ['latency', 'scheduled', '2025-01-01 07:30:00'],
      ['speed', 'catch-up', '2025-01-01 07:35:00'],
      ['ipv6', 'scheduled', '2025-01-01 07:50:00'],
    ]);
    await h.clock.advance(30 * MIN);
    expect(h.starts).toHaveLength(1);
    await h.clock.advance(90 * MIN);
    expect(h.starts.map((s) => [s.kind, s.reason, local(s.at).slice(11, 16)])).toEqual([
      ['latency', 'scheduled', '07:30'],
      ['speed', 'catch-up', '07:35'],
      ['ipv6', 'scheduled', '07:50'],
      ['latency', 'scheduled', '08:10'],
      ['ipv6', 'scheduled', '08:50'],
    ]);
    // speed's regular 08:10 run came 35 minutes after its catch-up, within half its 2-hour
    // period, so it was skipped rather than run twice in an hour.
    expect(h.events.filter((e) => e.outcome === 'skipped')).toMatchObject([
      { kind: 'speed', reason: 'scheduled', detail: expect.stringMatching(/half a period/) },
    ]);
  });

  it('does not catch up when disabled or when the last run is recent', async () => {
    const off = harness([{ kind: 'latency', cron: '0 * * * *' }], { catchUp: false, lastRuns: {} });
    off.s.start();
    expect(off.s.plan()[0]!.reason).toBe('scheduled');
    const recent = harness([{ kind: 'latency', cron: '0 * * * *' }], {
      catchUp: true,
      lastRuns: { latency: T0 - 20 * MIN },
    });
    recent.s.start();
    expect(recent.s.plan()[0]).toMatchObject({ reason: 'scheduled', nextAt: T0 + HOUR });
  });

  it('a wall-clock step (NTP on a Pi without RTC) re-plans without a burst and without running twice', async () => {
    const h = harness([{ kind: 'latency', cron: '0 * * * *' }]);
    h.s.start();
    await h.clock.advance(HOUR);
    expect(h.starts).toHaveLength(1);
    // NTP steps the clock 5 days forward: 120 hourly runs "missed", none replayed.
    h.clock.stepWall(5 * 24 * HOUR);
    await h.clock.advance(MIN);
    expect(h.starts).toHaveLength(1);
    await h.clock.advance(HOUR);
    expect(h.starts).toHaveLength(2);
    expect(local(h.starts[1]!.at)).toBe('2025-01-06 09:00:00');
    // A step back of 5 minutes right after a run would make 09:00 come round again: not run twice.
    await h.clock.advance(MIN);
    h.clock.stepWall(-5 * MIN);
    await h.clock.advance(10 * MIN);
    expect(h.starts).toHaveLength(2);
    expect(h.events.at(-1)).toMatchObject({ outcome: 'skipped' });
  });

  it('asks the gate before each run and records why it was skipped', async () => {
    const h = harness([{ kind: 'speed', cron: '0 * * * *' }], {
      gate: (_kind, info) => (info.lastStartedAt === undefined ? { run: true } : { run: false, reason: 'budget' }),
    });
    h.s.start();
    await h.clock.advance(3 * HOUR);
    expect(h.starts).toHaveLength(1);
    expect(h.events.map((e) => e.outcome)).toEqual(['done', 'skipped', 'skipped']);
    expect(h.events[1]).toMatchObject({ detail: 'budget', plannedAt: T0 + 2 * HOUR });
  });

  it('stop() aborts the running test, waits for it to be recorded, and runs nothing after', async () => {
    const h = harness([{ kind: 'speed', cron: '0 * * * *' }], { hold: true });
    h.s.start();
    await h.clock.advance(HOUR);
    expect(h.s.activity().running?.kind).toBe('speed');
    await h.s.stop(5_000);
    expect(h.events).toMatchObject([{ kind: 'speed', outcome: 'failed', detail: 'the agent is stopping' }]);
    await h.clock.advance(5 * HOUR);
    expect(h.starts).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });

  it('sleeps at most a minute at a time and arms a single timer', async () => {
    const h = harness([
      { kind: 'latency', cron: '0 * * * *' },
      { kind: 'speed', cron: '0 */2 * * *' },
    ]);
    h.s.start();
    expect(h.clock.pending).toBe(1);
    await h.clock.advance(30 * MIN);
    expect(h.clock.pending).toBe(1);
  });

  it('rejects a bad cron expression or time zone, naming the key', () => {
    expect(() => harness([{ kind: 'speed', cron: '0 25 * * *' }])).toThrow(
      /schedule\.tests\.speed\.cron: "0 25 \* \* \*" is not a valid cron expression \(hour: 25 is a invalid expression for hour\)/,
    );
    expect(() => harness([{ kind: 'speed', cron: '0 * * * *' }], { timezone: 'Asia/Hanoi_Nowhere' })).toThrow(
      /schedule\.timezone: "Asia\/Hanoi_Nowhere" is not a known IANA time zone/,
    );
  });
});
