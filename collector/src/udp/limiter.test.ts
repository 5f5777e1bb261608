import { describe, expect, it } from 'vitest';
import { RateLimiter } from './limiter.js';

describe('RateLimiter (token bucket)', () => {
  it('allows the burst at once, then the rate', () => {
    const l = new RateLimiter(10, 5);
    const at0 = Array.from({ length: 8 }, () => l.take('k', 0));
    expect(at0.filter(Boolean)).toHaveLength(5);
    expect(l.take('k', 100)).toBe(true); // 0.1 s × 10/s = 1 token
    expect(l.take('k', 100)).toBe(false);
    expect(l.take('k', 1000)).toBe(true);
  });
  it('keys are independent', () => {
    const l = new RateLimiter(1, 1);
    expect(l.take('a', 0)).toBe(true);
    expect(l.take('a', 0)).toBe(false);
    expect(l.take('b', 0)).toBe(true);
  });
  it('never saves more than the burst however long a key idles', () => {
    const l = new RateLimiter(100, 3);
    l.take('k', 0);
    const later = Array.from({ length: 10 }, () => l.take('k', 1e9));
    expect(later.filter(Boolean)).toHaveLength(3);
  });
  it('stays bounded in memory, forgetting the least recently used keys', () => {
    const l = new RateLimiter(1, 1, 3);
    for (const k of ['a', 'b', 'c', 'd']) l.take(k, 0);
    expect(l.size).toBe(3);
    expect(l.take('a', 0)).toBe(true); // forgotten, so a fresh bucket
  });
});
