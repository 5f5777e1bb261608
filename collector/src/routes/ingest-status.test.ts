import { afterEach, describe, expect, it } from 'vitest';
import { speedResult } from '../../../test/helpers/results.js';
import { startCollector, type TestCollector } from '../testing.js';

const T0 = Date.parse('2025-06-10T03:00:00Z');
const DAY = 86_400_000;
const BOOT = 'boot-of-the-pi';

let c: TestCollector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

async function push(token: string, body: Record<string, unknown>) {
  const res = await fetch(`${c!.url}/api/v1/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      schema: 1,
      sentAt: new Date(T0).toISOString(),
      clock: { bootId: BOOT, uptimeMs: 10 * DAY },
      results: [speedResult({ at: T0 - 60_000, downBps: 90e6 })],
      ...body,
    }),
  });
  return { status: res.status, body: (await res.json()) as { accepted?: string[]; error?: { message: string } } };
}

describe('ingest: the agent status block', () => {
  it('stores the latest status per agent, re-basing the oldest queued result like a result, and overwrites it', async () => {
    let now = T0;
    c = await startCollector({ now: () => now });
    const a = c.addAgent('pi');
    const other = c.addAgent('other');
    // The Pi's wall clock is years behind (no RTC, no NTP yet); its uptime is right: the oldest
    // waiting result started two days before this batch was sent.
    const r = await push(a.token, {
      agentStatus: {
        queued: 37,
        oldestQueued: { startedAt: '2021-01-01T00:00:00Z', clock: { bootId: BOOT, uptimeMs: 8 * DAY } },
        deadLetters: 2,
        dropped: 5,
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.accepted).toHaveLength(1);
    expect(c.app.repo.agentStatus(a.id)).toEqual({
      reportedAt: T0,
      queued: 37,
      oldestQueuedAt: T0 - 2 * DAY,
      oldestTrusted: true,
      deadLetters: 2,
      dropped: 5,
    });
    expect(c.app.repo.agentStatus(other.id)).toBeUndefined();

    // The next batch drained the outbox: the row is replaced, not added to.
    now = T0 + 3_600_000;
    await push(a.token, { agentStatus: { queued: 0, deadLetters: 2, dropped: 5 } });
    expect(c.app.repo.agentStatus(a.id)).toEqual({
      reportedAt: now,
      queued: 0,
      oldestQueuedAt: null,
      oldestTrusted: null,
      deadLetters: 2,
      dropped: 5,
    });
    const rows = c.app.db.prepare('SELECT count(*) AS n FROM agent_status').get() as { n: number };
    expect(rows.n).toBe(1);
  });

  it('an earlier boot uses its remembered offset; an unknown boot keeps a plausible wall time; an impossible one is no time', async () => {
    let now = T0;
    c = await startCollector({ now: () => now });
    const a = c.addAgent('pi');
    // Boot 1 is seen: its offset is T0 - 10 days.
    await push(a.token, { agentStatus: { queued: 0, deadLetters: 0, dropped: 0 } });
    // After a reboot, a result of boot 1 (uptime 9 days) still waits.
    now = T0 + DAY;
    await push(a.token, {
      clock: { bootId: 'boot-2', uptimeMs: 60_000 },
      agentStatus: {
        queued: 3,
        oldestQueued: { startedAt: '2021-01-01T00:00:00Z', clock: { bootId: BOOT, uptimeMs: 9 * DAY } },
        deadLetters: 0,
        dropped: 0,
      },
    });
    expect(c.app.repo.agentStatus(a.id)).toMatchObject({ oldestQueuedAt: T0 - DAY, oldestTrusted: true });
    // A boot never seen: the agent's wall time, when it is a possible one.
    const wall = T0 - 5 * DAY;
    await push(a.token, {
      clock: { bootId: 'boot-2', uptimeMs: 120_000 },
      agentStatus: {
        queued: 3,
        oldestQueued: { startedAt: new Date(wall).toISOString(), clock: { bootId: 'boot-0', uptimeMs: 1 } },
        deadLetters: 0,
        dropped: 0,
      },
    });
    expect(c.app.repo.agentStatus(a.id)).toMatchObject({ oldestQueuedAt: wall, oldestTrusted: false });
    // …and none when it is impossible (before 2020, or far in the future of the receipt).
    for (const startedAt of ['1970-01-01T00:00:05Z', new Date(now + 2 * DAY).toISOString()]) {
      await push(a.token, {
        clock: { bootId: 'boot-2', uptimeMs: 180_000 },
        agentStatus: {
          queued: 3,
          oldestQueued: { startedAt, clock: { bootId: 'boot-0', uptimeMs: 1 } },
          deadLetters: 0,
          dropped: 0,
        },
      });
      expect(c.app.repo.agentStatus(a.id)).toMatchObject({ queued: 3, oldestQueuedAt: null, oldestTrusted: null });
    }
  });

  it('an older agent without the block is still accepted, and leaves no stale status behind', async () => {
    c = await startCollector({ now: () => T0 });
    const a = c.addAgent('old');
    const r = await push(a.token, {});
    expect(r.status).toBe(200);
    expect(r.body.accepted).toHaveLength(1);
    expect(c.app.repo.agentStatus(a.id)).toBeUndefined();
    // An agent downgraded after sending a status: its figures are not shown as current any more.
    await push(a.token, { agentStatus: { queued: 4, deadLetters: 1, dropped: 0 } });
    expect(c.app.repo.agentStatus(a.id)).toMatchObject({ queued: 4 });
    await push(a.token, {});
    expect(c.app.repo.agentStatus(a.id)).toBeUndefined();
  });

  it('a malformed block refuses the envelope (400) and stores nothing', async () => {
    c = await startCollector({ now: () => T0 });
    const a = c.addAgent('pi');
    const r = await push(a.token, { agentStatus: { queued: -1, deadLetters: 0, dropped: 0 } });
    expect(r.status).toBe(400);
    expect(r.body.error?.message).toBe('envelope: /agentStatus/queued must be >= 0');
    expect(c.app.repo.countResults(a.id)).toBe(0);
    expect(c.app.repo.agentStatus(a.id)).toBeUndefined();
  });
});
