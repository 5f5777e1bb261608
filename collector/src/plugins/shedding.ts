import { performance } from 'node:perf_hooks';
import { API_PREFIX, HatangError } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface SheddingOptions {
  /** Ingest requests processed at once; beyond it a request is answered 429 at once, before its body is read. */
  maxInFlightIngest: number;
  /** Retry-After is drawn uniformly from [min, max] seconds, so a reconnect storm spreads out. */
  retryAfterMinS: number;
  retryAfterMaxS: number;
  /**
   * Event-loop utilisation (0–1) over the last window above which new ingest requests are shed.
   * Under a reconnect storm requests wait in the kernel's accept queue, invisible to in-flight
   * counts; answering the excess with a cheap 429 drains that queue fast and bounds latency.
   */
  maxEventLoopUtilization: number;
  /** Length of the utilisation window, ms. */
  windowMs?: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    shedding: { inFlight: () => number; shed: () => number; busy: () => boolean };
  }
}

const INGEST_URL = `${API_PREFIX}/results`;

/** Ingest requests per utilisation window (250 ms) below which the collector never sheds on utilisation. */
export const SHED_MIN_ARRIVALS = 8;

/**
 * Load shedding for ingest (issue: thousands of agents reconnecting at once after an outage).
 * Bounded concurrency keeps memory (≤ maxInFlight × 1 MiB bodies) and latency bounded; the rest
 * are told when to come back, with jitter. Agents keep their results and retry: nothing is lost.
 */
export const sheddingPlugin = fp(
  async (app: FastifyInstance, opts: SheddingOptions) => {
    const random = opts.random ?? Math.random;
    let inFlight = 0;
    let shed = 0;
    let busy = false;
    let arrivals = 0;
    let last = performance.eventLoopUtilization();
    const timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      // Busy means a storm of ingest requests is what keeps the loop saturated, not a long report
      // query or a handful of agents: both conditions must hold over the window.
      busy =
        performance.eventLoopUtilization(now, last).utilization > opts.maxEventLoopUtilization &&
        arrivals >= SHED_MIN_ARRIVALS;
      arrivals = 0;
      last = now;
    }, opts.windowMs ?? 250);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
    app.decorate('shedding', { inFlight: () => inFlight, shed: () => shed, busy: () => busy });
    app.addHook('onRequest', async (req) => {
      if (req.routeOptions.url !== INGEST_URL || req.method !== 'POST') return;
      arrivals++;
      if (inFlight >= opts.maxInFlightIngest || busy) {
        shed++;
        const span = Math.max(0, opts.retryAfterMaxS - opts.retryAfterMinS);
        const retryAfterS = opts.retryAfterMinS + Math.floor(random() * (span + 1));
        throw new HatangError('HATANG_ERR_RATE_LIMITED', 'collector is busy; retry after the time given', {
          hint: 'Agents retry by themselves; nothing is lost.',
          details: { retryAfterS },
        });
      }
      inFlight++;
      (req as { hatangCounted?: boolean }).hatangCounted = true;
    });
    app.addHook('onResponse', async (req) => {
      if ((req as { hatangCounted?: boolean }).hatangCounted) inFlight--;
    });
    // A client that disconnects mid-request still frees its slot.
    app.addHook('onRequestAbort', async (req) => {
      const r = req as { hatangCounted?: boolean };
      if (r.hatangCounted) {
        r.hatangCounted = false;
        inFlight--;
      }
    });
  },
  { name: 'hatang-shedding' },
);
