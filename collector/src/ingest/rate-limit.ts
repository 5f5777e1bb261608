/**
 * Token bucket per key (agent id): `burst` requests back to back, refilled at `perMinute`. Pure
 * apart from the clock passed in; memory is bounded by forgetting buckets that are full again.
 */
export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #lastSweep = 0;

  constructor(perMinute: number, burst: number) {
    this.#perMs = perMinute / 60_000;
    this.#burst = burst;
  }

  /** Take one token: 0 when allowed, else the seconds to wait before one is available (≥ 1). */
  take(key: string, now: number): number {
    this.#sweep(now);
    const b = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs / 1000));
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    const fullAfter = this.#burst / this.#perMs;
    for (const [k, b] of this.#buckets) if (now - b.at > fullAfter) this.#buckets.delete(k);
  }
}
