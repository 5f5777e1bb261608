import { describe, expect, it } from 'vitest';
import { PublicLimits } from './limits.js';

function limits(now: { t: number }) {
  return new PublicLimits({
    maxConcurrentPerIp: 2,
    maxConcurrentTotal: 3,
    maxBytesPerIpPerHour: 1000,
    now: () => now.t,
  });
}

describe('public endpoint limits', () => {
  it('caps concurrent tests per IP and in total, and frees slots on release', () => {
    const clock = { t: 0 };
    const l = limits(clock);
    const a1 = l.acquire('a');
    const a2 = l.acquire('a');
    expect('lease' in a1 && 'lease' in a2).toBe(true);
    expect(l.acquire('a')).toEqual({ denied: expect.objectContaining({ reason: 'ip-concurrency' }) });
    const b1 = l.acquire('b');
    expect('lease' in b1).toBe(true);
    expect(l.acquire('c')).toEqual({ denied: expect.objectContaining({ reason: 'total-concurrency' }) });
    if ('lease' in a1) {
      a1.lease.release();
      a1.lease.release(); // idempotent
    }
    expect(l.active()).toBe(2);
    expect('lease' in l.acquire('c')).toBe(true);
  });

  it('caps bytes per IP over a rolling hour', () => {
    const clock = { t: 0 };
    const l = limits(clock);
    const r = l.acquire('a', 600);
    if (!('lease' in r)) throw new Error('denied');
    r.lease.count(600);
    r.lease.release();
    expect(l.acquire('a', 500)).toEqual({ denied: expect.objectContaining({ reason: 'ip-bytes', retryAfterS: 600 }) });
    expect('lease' in l.acquire('b', 500)).toBe(true); // other addresses unaffected
    clock.t = 61 * 60_000; // an hour later the bytes have rolled off
    expect(l.bytesInLastHour('a')).toBe(0);
    expect('lease' in l.acquire('a', 500)).toBe(true);
  });

  it('forgets idle addresses so memory stays bounded', () => {
    const clock = { t: 0 };
    const l = limits(clock);
    for (let i = 0; i < 100; i++) {
      const r = l.acquire(`ip${i}`);
      if ('lease' in r) {
        r.lease.count(1);
        r.lease.release();
      }
    }
    expect(l.trackedIps()).toBe(100);
    clock.t = 2 * 3_600_000;
    l.sweep();
    expect(l.trackedIps()).toBe(0);
  });
});
