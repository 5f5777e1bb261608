/**
 * The dashboard's figure cache: what a page shows is computed once and served for `ttlMs`; past
 * that, the stale figures are served once more while a fresh copy is computed right after the
 * response (stale-while-revalidate), so a page view never waits for the statistics of a busy
 * province. Agents push results all the time, so without it the current week would be recomputed
 * on nearly every view (the statistics service drops its cached figures for any day that got new
 * results). Pages say how old their figures are ("figures up to …").
 *
 * Figures older than maxStaleMs (default 5 × ttl, at least 10 minutes) are never shown: they are
 * computed again during the request. Freshness is wall time (performance.now), not the collector's
 * clock. ttlMs 0 turns caching off.
 */
export interface Cached<T> {
  value: T;
  /** Wall time the value was computed, ms since epoch. */
  computedAt: number;
}

interface Entry {
  value: unknown;
  computedAt: number;
  born: number;
  refreshing: boolean;
}

export class FigureCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #onError: (err: unknown) => void;
  readonly #maxStaleMs: number;

  constructor(
    ttlMs: number,
    opts: { maxEntries?: number; onError?: (err: unknown) => void; maxStaleMs?: number } = {},
  ) {
    this.#ttlMs = ttlMs;
    this.#maxStaleMs = opts.maxStaleMs ?? Math.max(5 * ttlMs, 10 * 60_000);
    this.#max = opts.maxEntries ?? 1000;
    this.#onError = opts.onError ?? (() => {});
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value of `key`, computing it now when absent (or when caching is off). */
  get<T>(key: string, compute: () => T): Cached<T> {
    if (this.#ttlMs <= 0) return { value: compute(), computedAt: Date.now() };
    const e = this.#entries.get(key);
    // Nobody looked for a long time: too old to show even once, compute it now.
    if (!e || performance.now() - e.born > this.#maxStaleMs) {
      const fresh: Entry = { value: compute(), computedAt: Date.now(), born: performance.now(), refreshing: false };
      this.#set(key, fresh);
      return { value: fresh.value as T, computedAt: fresh.computedAt };
    }
    if (performance.now() - e.born > this.#ttlMs && !e.refreshing) {
      e.refreshing = true;
      setImmediate(() => {
        try {
          this.#set(key, { value: compute(), computedAt: Date.now(), born: performance.now(), refreshing: false });
        } catch (err) {
          e.refreshing = false;
          this.#onError(err);
        }
      });
    }
    return { value: e.value as T, computedAt: e.computedAt };
  }

  /** Drop everything (tests, the benchmark's cold runs). */
  clear(): void {
    this.#entries.clear();
  }

  #set(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, e);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}
