/**
 * Token buckets for the UDP echo's rate limits, keyed by a string (key id, source address) and
 * bounded in memory: idle buckets are forgotten, and past `maxKeys` the oldest are dropped.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `rate` tokens per second, at most `burst` saved. */
  constructor(rate: number, burst: number, maxKeys = 100_000) {
    this.#rate = rate;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Take one token for `key` at time `now` (ms); false when the bucket is empty. */
  take(key: string, now: number): boolean {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
      b.at = now;
      // Keep insertion order ≈ recency so eviction drops idle keys first.
      this.#buckets.delete(key);
      this.#buckets.set(key, b);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
