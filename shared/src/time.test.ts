import { describe, expect, it } from 'vitest';
import { rebase } from './time.js';

const T = Date.UTC(2026, 10, 28, 5, 0, 0);

describe('rebase', () => {
  it('re-bases a result of the same boot from uptime, ignoring a wrong wall clock', () => {
    const r = rebase({
      result: { bootId: 'b1', uptimeMs: 60_000 },
      wallAt: Date.UTC(1970, 0, 1, 0, 1, 0), // Pi booted without RTC: 1970
      batch: { bootId: 'b1', uptimeMs: 3_660_000 },
      receivedAt: T,
    });
    expect(r.trusted).toBe(true);
    expect(r.startedAt).toBe(T - 3_600_000);
    expect(r.skewMs).toBe(Date.UTC(1970, 0, 1, 0, 1, 0) - (T - 3_600_000));
  });

  it('uses a remembered offset for a result of an earlier boot', () => {
    const r = rebase({
      result: { bootId: 'old', uptimeMs: 10_000 },
      wallAt: 0,
      batch: { bootId: 'new', uptimeMs: 5_000 },
      receivedAt: T,
      knownOffsetMs: T - 86_400_000,
    });
    expect(r).toEqual({ startedAt: T - 86_400_000 + 10_000, trusted: true, skewMs: -(T - 86_400_000 + 10_000) });
  });

  it('falls back to the wall clock, untrusted, for an unknown earlier boot', () => {
    const r = rebase({
      result: { bootId: 'old', uptimeMs: 1 },
      wallAt: T - 5,
      batch: { bootId: 'new', uptimeMs: 9 },
      receivedAt: T,
    });
    expect(r).toEqual({ startedAt: T - 5, trusted: false, skewMs: undefined });
  });

  it('keeps the smaller (less delayed) offset of the same boot', () => {
    const r = rebase({
      result: { bootId: 'b', uptimeMs: 1_000 },
      wallAt: T,
      batch: { bootId: 'b', uptimeMs: 2_000 },
      receivedAt: T + 500, // slow request: this batch alone says the boot was at T - 1500
      knownOffsetMs: T - 2_000, // an earlier, faster batch placed it at T - 2000
    });
    expect(r.startedAt).toBe(T - 1_000);
  });

  it('refuses contradictory stamps (result uptime after the batch)', () => {
    const r = rebase({
      result: { bootId: 'b', uptimeMs: 5_000 },
      wallAt: T,
      batch: { bootId: 'b', uptimeMs: 1_000 },
      receivedAt: T,
    });
    expect(r.trusted).toBe(false);
  });
});
