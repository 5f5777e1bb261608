import { describe, expect, it } from 'vitest';
import { FigureCache } from './cache.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('FigureCache', () => {
  it('computes once, then serves the cached value', () => {
    const c = new FigureCache(60_000);
    let n = 0;
    expect(c.get('k', () => ++n).value).toBe(1);
    expect(c.get('k', () => ++n).value).toBe(1);
    expect(n).toBe(1);
  });
  it('past the TTL serves the stale value once and recomputes right after', async () => {
    const c = new FigureCache(1);
    let n = 0;
    c.get('k', () => ++n);
    await new Promise((r) => setTimeout(r, 5));
    expect(c.get('k', () => ++n).value).toBe(1);
    await tick();
    expect(n).toBe(2);
    expect(c.get('k', () => ++n).value).toBe(2);
  });
  it('computes every time with TTL 0', () => {
    const c = new FigureCache(0);
    let n = 0;
    c.get('k', () => ++n);
    c.get('k', () => ++n);
    expect(n).toBe(2);
    expect(c.size).toBe(0);
  });
  it('keeps serving the stale value when a refresh fails, and reports the error', async () => {
    const errors: unknown[] = [];
    const c = new FigureCache(1, { onError: (e) => errors.push(e) });
    c.get('k', () => 'old');
    await new Promise((r) => setTimeout(r, 5));
    c.get('k', () => {
      throw new Error('db locked');
    });
    await tick();
    expect(errors).toHaveLength(1);
    expect(c.get('k', () => 'new').value).toBe('old');
    await tick();
    expect(c.get('k', () => 'x').value).toBe('new');
  });
  it('drops the least recently used entry past maxEntries', () => {
    const c = new FigureCache(60_000, { maxEntries: 2 });
    c.get('a', () => 1);
    c.get('b', () => 2);
    c.get('c', () => 3);
    expect(c.size).toBe(2);
    let n = 0;
    c.get('a', () => ++n);
    expect(n).toBe(1);
  });
  it('computes during the request when the entry is older than maxStaleMs', async () => {
    const c = new FigureCache(1, { maxStaleMs: 3 });
    let n = 0;
    c.get('k', () => ++n);
    await new Promise((r) => setTimeout(r, 10));
    expect(c.get('k', () => ++n).value).toBe(2);
  });
});
