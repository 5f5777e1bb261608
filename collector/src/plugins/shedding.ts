import { performance } from 'node:perf_hooks';
import { API_PREFIX, HatangError } from '@hatang/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type AdmissionState, IngestAdmission } from '../ingest/admission.js';

export { SHED_MIN_ARRIVALS } from '../ingest/admission.js';

export interface SheddingOptions {
  /** Ingest requests processed at once; beyond it a request is answered 429 at once, before its body is read. */
  maxInFlightIngest: number;
  /** Bounds of the Retry-After given when shedding, s (collector/src/ingest/admission.ts schedules within them). */
  retryAfterMinS: number;
  retryAfterMaxS: number;
  /**
   * Event-loop utilisation (0–1) over the last window above which ingest may use only part of the
   * loop's time and the excess is answered 429 (1 disables).
   */
  maxEventLoopUtilization: number;
  /** Length of the utilisation window, ms. */
  windowMs?: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Ingest admission's counters and estimates (read by /metrics). */
    shedding: { state: () => AdmissionState };
  }
}

const INGEST_URL = `${API_PREFIX}/results`;
/** Marks an admitted ingest request, and when its handler phase began (performance.now()). */
const ADMITTED = Symbol('hatang.admitted');
const HANDLING = Symbol('hatang.handling');
type Marked = FastifyRequest & { [ADMITTED]?: boolean; [HANDLING]?: number };

/**
 * Load shedding for ingest (issue: thousands of agents reconnecting at once after an outage).
 * Bounded concurrency keeps memory (≤ maxInFlight × 1 MiB bodies) and latency bounded; the rest
 * are told when to come back (a schedule paced at the measured capacity). Agents keep their
 * results and retry: nothing is lost.
 */
export const sheddingPlugin = fp(
  async (app: FastifyInstance, opts: SheddingOptions) => {
    const windowMs = opts.windowMs ?? 250;
    const admission = new IngestAdmission({
      maxInFlight: opts.maxInFlightIngest,
      retryAfterMinS: opts.retryAfterMinS,
      retryAfterMaxS: opts.retryAfterMaxS,
      maxEventLoopUtilization: opts.maxEventLoopUtilization,
      random: opts.random ?? Math.random,
    });
    // Windows close on a timer when ingest is quiet, and on the next arrival when it is not: under
    // a storm one pass of the event loop's poll phase can serve thousands of requests back to back,
    // and timers wait until it ends.
    let last = performance.eventLoopUtilization();
    let lastAt = performance.now();
    const tick = () => {
      const at = performance.now();
      if (at - lastAt < windowMs) return;
      const now = performance.eventLoopUtilization();
      admission.window(at, performance.eventLoopUtilization(now, last).utilization);
      last = now;
      lastAt = at;
    };
    const timer = setInterval(tick, windowMs);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
    app.decorate('shedding', { state: () => admission.state });
    const isIngest = (req: FastifyRequest) => req.routeOptions.url === INGEST_URL && req.method === 'POST';
    app.addHook('onRequest', async (req) => {
      if (!isIngest(req)) return;
      tick();
      const d = admission.arrive(performance.now());
      if (!d.admit) {
        throw new HatangError('HATANG_ERR_RATE_LIMITED', 'collector is busy; retry after the time given', {
          hint: 'Agents retry by themselves; nothing is lost.',
          details: { retryAfterS: d.retryAfterS },
        });
      }
      (req as Marked)[ADMITTED] = true;
    });
    // The handler's share of the loop: from the parsed body to the answer being serialised (the
    // token check, validation and the SQLite transaction run there, back to back).
    app.addHook('preValidation', async (req) => {
      if ((req as Marked)[ADMITTED]) (req as Marked)[HANDLING] = performance.now();
    });
    app.addHook('onSend', async (req) => {
      const r = req as Marked;
      if (r[HANDLING] !== undefined) {
        admission.served(performance.now() - r[HANDLING]);
        r[HANDLING] = undefined;
      }
    });
    // Once per admitted request: its answer went out, or its client went away first.
    const release = async (req: FastifyRequest) => {
      const r = req as Marked;
      if (!r[ADMITTED]) return;
      r[ADMITTED] = false;
      admission.complete();
    };
    app.addHook('onResponse', release);
    app.addHook('onRequestAbort', release);
  },
  { name: 'hatang-shedding' },
);
