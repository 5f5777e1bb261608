import type { ClockStamp } from '@hatang/shared';
import type { DaemonClock } from './clock.js';

interface PendingTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A hand-driven clock for tests (no sleeps): timers run on a monotonic time that moves only in
 * `advance()`; the wall clock is that plus an offset `stepWall()` can change, as NTP does.
 */
export class ManualClock implements DaemonClock {
  #mono = 0;
  #wallOffset: number;
  readonly #bootId: string;
  readonly #uptimeAtStart: number;
  #timers: PendingTimer[] = [];
  #seq = 0;

  constructor(wallStart: number, opts: { bootId?: string; uptimeMs?: number } = {}) {
    this.#wallOffset = wallStart;
    this.#bootId = opts.bootId ?? 'manual-boot';
    this.#uptimeAtStart = opts.uptimeMs ?? 3_600_000;
  }

  now = (): number => this.#wallOffset + this.#mono;

  stamp = (): ClockStamp => ({ bootId: this.#bootId, uptimeMs: this.#uptimeAtStart + this.#mono });

  setTimeout = (fn: () => void, ms: number): unknown => {
    const t = { id: ++this.#seq, at: this.#mono + Math.max(0, ms), fn };
    this.#timers.push(t);
    return t.id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  };

  /** Timers armed and not yet run. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move the wall clock without moving monotonic time (an NTP step). */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }

  /** Let promise callbacks and ready I/O run. */
  async settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** Move time forward by `ms`, running every timer that falls due, in order, settling after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#mono + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.#timers) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#mono = Math.max(this.#mono, next.at);
      next.fn();
      await this.settle();
    }
    this.#mono = end;
    await this.settle();
  }
}
