import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig, HatangError, type TargetTable } from '@hatang/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { registerCollectorMetrics } from '../metrics/collector.js';

export type MetricsConfig = CollectorConfig['metrics'];

/** Speed-test endpoints by route pattern: the `endpoint` label of the hatang_speedtest_* series. */
export const SPEED_ENDPOINTS: Readonly<Record<string, string>> = {
  '/speed/down': 'down',
  '/speed/up': 'up',
  '/speed/ping': 'ping',
};
/** Endpoints whose requests are tests (counted in hatang_speedtest_running); ping is only a probe. */
const TEST_ENDPOINTS = new Set(['down', 'up']);

/** prom-client default gauges whose `_total` suffix promtool rejects; dropped from the registry. */
export const PROM_CLIENT_MISNAMED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** HTTP request duration buckets, s: speed tests run 10–15 s, ingest and pages well under 1 s. */
export const HTTP_DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];

/** `route` label for requests no route matched (the URL itself never becomes a label). */
export const UNMATCHED_ROUTE = 'unmatched';

export type SpeedTestOutcome = 'ok' | 'aborted' | 'refused' | 'error';

/** One test on a speed-test endpoint; for servers outside fastify's request cycle (ndt7 over WebSocket, UDP echo). */
export interface SpeedTestHandle {
  sent(bytes: number): void;
  received(bytes: number): void;
  end(outcome: SpeedTestOutcome): void;
}

/** What the ndt7 server (collector/src/routes/ndt7.ts, `app.ndt7`) counts, as far as metrics read it. */
interface Ndt7Like {
  enabled?: boolean;
  stats: { active: number; started: number; finished: number; refused: Record<string, number> };
}

export interface HatangMetrics {
  registry: Registry;
  /** Count one test of a speed-test server that fastify's HTTP hooks do not see. */
  beginSpeedTest(endpoint: string, opts?: { test?: boolean }): SpeedTestHandle;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: HatangMetrics;
  }
}

export interface MetricsPluginOptions {
  role: 'all' | 'speedtest';
  config?: MetricsConfig | undefined;
  version: string;
  /** Clock (ms since epoch), injectable in tests. */
  now?: (() => number) | undefined;
  /** Configured targets (config `targets`), for the histogram's bucket edges. */
  targets?: TargetTable | undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
/** Constant-time string comparison (hashing first hides the length). */
function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function checkAuthConfig(c: MetricsConfig) {
  if ((c.basicUsername === undefined) !== (c.basicPassword === undefined)) {
    throw new HatangError('HATANG_ERR_CONFIG', 'metrics.basicUsername and metrics.basicPassword must be set together', {
      hint: 'Set both for HTTP basic auth on /metrics, or neither (see docs/metrics.md).',
    });
  }
}

/** True when the request may read /metrics under the configured auth (none configured: everyone). */
export function metricsAuthorized(c: MetricsConfig, header: string | undefined): boolean {
  const basic = c.basicUsername !== undefined && c.basicPassword !== undefined;
  if (c.bearerToken === undefined && !basic) return true;
  if (!header) return false;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer && c.bearerToken !== undefined) return same(bearer[1] as string, c.bearerToken);
  const b = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (b && basic) {
    const decoded = Buffer.from(b[1] as string, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return false;
    // Evaluate both comparisons so timing does not tell which half was wrong.
    const userOk = same(decoded.slice(0, i), c.basicUsername as string);
    const passOk = same(decoded.slice(i + 1), c.basicPassword as string);
    return userOk && passOk;
  }
  return false;
}

/**
 * Prometheus metrics (docs/metrics.md): a registry per app, GET /metrics (optionally behind a
 * bearer token or basic auth), HTTP and speed-test instrumentation for both roles, ingest counters,
 * and database-derived gauges computed in collect() from prepared statements on a short cache.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: MetricsPluginOptions) => {
    const config = opts.config ?? COLLECTOR_CONFIG_DEFAULTS.metrics;
    checkAuthConfig(config);
    const now = opts.now ?? Date.now;
    const registry = new Registry();
    const registers = [registry];

    collectDefaultMetrics({ register: registry });
    // Gauges named *_total break the exposition conventions (promtool check metrics); the same
    // figures stay available per type in nodejs_active_handles / _requests / _resources.
    for (const name of PROM_CLIENT_MISNAMED) registry.removeSingleMetric(name);
    new Gauge({
      name: 'hatang_build_info',
      help: 'Always 1; the labels say which hatang version runs in which role.',
      labelNames: ['version', 'role'],
      registers,
    }).set({ version: opts.version, role: opts.role }, 1);

    // --- HTTP, every route, both roles -------------------------------------------------------
    const httpDuration = new Histogram({
      name: 'hatang_http_request_duration_seconds',
      help: 'Time from request to the end of the response, by route pattern (never the URL), method and status (499: client closed first).',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS_S,
      registers,
    });

    // --- ingest admission (collector/src/ingest/admission.ts), role all -------------------------
    if (opts.role === 'all') {
      const admission = () => (app.hasDecorator('shedding') ? app.shedding.state() : undefined);
      new Gauge({
        name: 'hatang_ingest_in_flight',
        help: 'Ingest requests admitted and not yet answered (at most load.maxInFlightIngest).',
        registers,
        collect() {
          const s = admission();
          if (s) this.set(s.inFlight);
        },
      });
      new Counter({
        name: 'hatang_ingest_shed_total',
        help: 'Ingest requests answered 429 with Retry-After because the collector was at capacity, by reason: in_flight (load.maxInFlightIngest reached) or saturated (the event loop was saturated); the agents retry.',
        labelNames: ['reason'],
        registers,
        collect() {
          const s = admission();
          if (!s) return;
          this.reset();
          this.inc({ reason: 'in_flight' }, s.shedInFlight);
          this.inc({ reason: 'saturated' }, s.shedSaturated);
        },
      });
      new Gauge({
        name: 'hatang_ingest_saturated',
        help: '1 while the event loop was saturated with ingest arriving over the last 250 ms window (ingest then gets at most half the loop; the rest is answered 429), else 0.',
        registers,
        collect() {
          const s = admission();
          if (s) this.set(s.saturated ? 1 : 0);
        },
      });
      new Gauge({
        name: 'hatang_ingest_capacity_requests_per_second',
        help: 'Ingest requests per second the collector could serve doing nothing else: 1 ÷ the mean handler time (moving average; 0 until one was served). The Retry-After schedule paces returns at 75 % of it.',
        registers,
        collect() {
          const s = admission();
          if (s) this.set(s.capacityPerS);
        },
      });
    }

    // --- speed-test server, both roles -------------------------------------------------------
    const ndt7 = () => {
      const n = app.hasDecorator('ndt7') ? (app as unknown as { ndt7: Ndt7Like }).ndt7 : undefined;
      return n && n.enabled !== false ? n.stats : undefined;
    };
    const speedRunning = new Gauge({
      name: 'hatang_speedtest_running',
      help: 'Speed tests being served right now: HTTP downloads and uploads, and ndt7 subtests when the ndt7 server runs.',
      labelNames: ['endpoint'],
      registers,
      collect() {
        const s = ndt7();
        if (s) this.set({ endpoint: 'ndt7' }, s.active);
      },
    });
    new Counter({
      name: 'hatang_ndt7_subtests_total',
      help: 'ndt7 subtests (download or upload) by outcome: started, finished, or refused for a reason (protocol, auth, busy, query).',
      labelNames: ['outcome'],
      registers,
      collect() {
        const s = ndt7();
        if (!s) return;
        this.reset();
        this.inc({ outcome: 'started' }, s.started);
        this.inc({ outcome: 'finished' }, s.finished);
        for (const [reason, n] of Object.entries(s.refused)) this.inc({ outcome: `refused_${reason}` }, n);
      },
    });
    const speedSent = new Counter({
      name: 'hatang_speedtest_sent_bytes_total',
      help: 'Bytes the speed-test endpoints wrote to clients, HTTP headers included.',
      labelNames: ['endpoint'],
      registers,
    });
    const speedReceived = new Counter({
      name: 'hatang_speedtest_received_bytes_total',
      help: 'Bytes the speed-test endpoints read from clients after the request line (bodies of uploads).',
      labelNames: ['endpoint'],
      registers,
    });
    const speedRequests = new Counter({
      name: 'hatang_speedtest_requests_total',
      help: 'Requests to the speed-test endpoints by outcome: ok, aborted (client closed early, normal at the end of a timed download), refused (4xx), error (5xx).',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    for (const endpoint of Object.values(SPEED_ENDPOINTS)) {
      if (TEST_ENDPOINTS.has(endpoint)) speedRunning.set({ endpoint }, 0);
      speedSent.inc({ endpoint }, 0);
      speedReceived.inc({ endpoint }, 0);
      for (const outcome of ['ok', 'aborted', 'refused', 'error']) speedRequests.inc({ endpoint, outcome }, 0);
    }

    function beginSpeedTest(endpoint: string, o: { test?: boolean } = {}): SpeedTestHandle {
      const isTest = o.test ?? true;
      if (isTest) speedRunning.inc({ endpoint });
      let done = false;
      return {
        sent: (n) => n > 0 && speedSent.inc({ endpoint }, n),
        received: (n) => n > 0 && speedReceived.inc({ endpoint }, n),
        end(outcome) {
          if (done) return;
          done = true;
          if (isTest) speedRunning.dec({ endpoint });
          speedRequests.inc({ endpoint, outcome });
        },
      };
    }

    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const started = performance.now();
      const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
      const endpoint = SPEED_ENDPOINTS[route];
      const socket = req.raw.socket as Socket | null;
      const w0 = socket?.bytesWritten ?? 0;
      const r0 = socket?.bytesRead ?? 0;
      const test = endpoint ? beginSpeedTest(endpoint, { test: TEST_ENDPOINTS.has(endpoint) }) : undefined;
      reply.raw.once('close', () => {
        const res = reply.raw;
        const status = res.writableFinished ? res.statusCode : 499;
        httpDuration.observe(
          { method: req.method, route, status_code: String(status) },
          (performance.now() - started) / 1000,
        );
        if (test) {
          test.sent((socket?.bytesWritten ?? w0) - w0);
          test.received((socket?.bytesRead ?? r0) - r0);
          test.end(status === 499 ? 'aborted' : status >= 500 ? 'error' : status >= 400 ? 'refused' : 'ok');
        }
      });
    });

    app.decorate('metrics', { registry, beginSpeedTest } satisfies HatangMetrics);

    if (opts.role === 'all') registerCollectorMetrics(app, registry, config, { now, targets: opts.targets ?? {} });

    if (config.enabled) {
      app.get('/metrics', { logLevel: 'warn' }, async (req, reply) => {
        if (!metricsAuthorized(config, req.headers.authorization)) {
          reply.header(
            'www-authenticate',
            config.bearerToken !== undefined ? 'Bearer realm="hatang metrics"' : 'Basic realm="hatang metrics"',
          );
          throw new HatangError('HATANG_ERR_UNAUTHORIZED', '/metrics needs the configured credentials', {
            hint: 'Give Prometheus the bearer token or basic-auth user from the collector config (metrics section).',
          });
        }
        const body = await registry.metrics();
        return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(body);
      });
    }
  },
  { name: 'hatang-metrics' },
);
