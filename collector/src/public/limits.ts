/**
 * Limits on the public, unauthenticated test endpoints (HTTP speed test, ndt7, UDP echo), so a
 * stranger — or a misconfigured agent fleet behind one NAT — cannot exhaust the collector:
 * concurrent tests per client IP and in total, and bytes per client IP per rolling hour.
 * Pure bookkeeping with an injected clock; the routes ask before serving and release after.
 */
export interface PublicLimitsOptions {
  /** Concurrent test requests/sessions from one IP (8 download streams + ping + loaded-latency fit). */
  maxConcurrentPerIp: number;
  /** Concurrent test requests/sessions from everyone. */
  maxConcurrentTotal: number;
  /** Bytes served to plus received from one IP in a rolling hour. */
  maxBytesPerIpPerHour: number;
  now?: () => number;
}

export type Denial = {
  reason: 'ip-concurrency' | 'total-concurrency' | 'ip-bytes';
  retryAfterS: number;
  message: string;
};

const HOUR = 3_600_000;
/** The rolling hour is kept in 60 one-minute buckets per IP. */
const BUCKET = 60_000;

interface IpState {
  active: number;
  buckets: Map<number, number>;
}

export class PublicLimits {
  readonly #o: Required<PublicLimitsOptions>;
  readonly #ips = new Map<string, IpState>();
  #active = 0;

  constructor(o: PublicLimitsOptions) {
    this.#o = { now: Date.now, ...o };
  }

  #state(ip: string): IpState {
    let s = this.#ips.get(ip);
    if (!s) {
      s = { active: 0, buckets: new Map() };
      this.#ips.set(ip, s);
    }
    return s;
  }

  /** Bytes from this IP in the last hour. */
  bytesInLastHour(ip: string): number {
    const s = this.#ips.get(ip);
    if (!s) return 0;
    const cutoff = Math.floor((this.#o.now() - HOUR) / BUCKET);
    let total = 0;
    for (const [b, n] of s.buckets) {
      if (b <= cutoff) s.buckets.delete(b);
      else total += n;
    }
    return total;
  }

  /**
   * Ask to start a test that may move up to `bytes` bytes. Returns a lease (call `release()` when
   * done, `count(n)` as bytes move) or a denial with a Retry-After.
   */
  acquire(ip: string, bytes = 0): { lease: Lease } | { denied: Denial } {
    const s = this.#state(ip);
    if (s.active >= this.#o.maxConcurrentPerIp) {
      return {
        denied: {
          reason: 'ip-concurrency',
          retryAfterS: 5,
          message: `at most ${this.#o.maxConcurrentPerIp} tests at once from one address`,
        },
      };
    }
    if (this.#active >= this.#o.maxConcurrentTotal) {
      return { denied: { reason: 'total-concurrency', retryAfterS: 10, message: 'the test server is busy' } };
    }
    const used = this.bytesInLastHour(ip);
    if (used + bytes > this.#o.maxBytesPerIpPerHour) {
      return {
        denied: {
          reason: 'ip-bytes',
          retryAfterS: 600,
          message: `data limit reached: ${this.#o.maxBytesPerIpPerHour} bytes per hour per address`,
        },
      };
    }
    s.active++;
    this.#active++;
    let released = false;
    const lease: Lease = {
      count: (n: number) => {
        const b = Math.floor(this.#o.now() / BUCKET);
        s.buckets.set(b, (s.buckets.get(b) ?? 0) + n);
      },
      release: () => {
        if (released) return;
        released = true;
        s.active--;
        this.#active--;
        if (s.active === 0 && s.buckets.size === 0) this.#ips.delete(ip);
      },
    };
    return { lease };
  }

  /** Tests running now. */
  active(): number {
    return this.#active;
  }

  /** Remove idle IPs whose hour has passed (call now and then to bound memory). */
  sweep(): void {
    for (const [ip, s] of this.#ips) {
      if (s.active === 0 && this.bytesInLastHour(ip) === 0) this.#ips.delete(ip);
    }
  }

  trackedIps(): number {
    return this.#ips.size;
  }
}

export interface Lease {
  count(bytes: number): void;
  release(): void;
}
