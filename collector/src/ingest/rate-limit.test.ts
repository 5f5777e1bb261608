import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter (token bucket per agent)', () => {
  it('allows the burst, then one request per refill interval, and says how long to wait', () => {
    const r = new RateLimiter(60, 3); // one a second on average, three back to back
    const t = 1_000_000;
    expect([r.take('a', t), r.take('a', t), r.take('a', t)]).toEqual([0, 0, 0]);
    expect(r.take('a', t)).toBe(1);
    expect(r.take('a', t + 500)).toBe(1); // half a token: wait the rest, rounded up to 1 s
    expect(r.take('a', t + 1000)).toBe(0);
    expect(r.take('b', t + 1000)).toBe(0); // another agent has its own bucket
  });

  it('refills up to the burst, never beyond', () => {
    const r = new RateLimiter(6, 2); // one every 10 s
    expect([r.take('a', 0), r.take('a', 0), r.take('a', 0)]).toEqual([0, 0, 10]);
    const later = 10 * 60_000;
    expect([r.take('a', later), r.take('a', later), r.take('a', later)]).toEqual([0, 0, 10]);
  });
});
