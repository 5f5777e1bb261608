import {
  IDLE_LATENCY_REQUESTS,
  LOADED_LATENCY_MAX_INTERVAL_MS,
  LOADED_LATENCY_MIN_INTERVAL_MS,
  median,
  PING_TIMEOUT_MS,
  SELECT_PINGS,
  type TestServer,
} from '@hatang/shared';
import { type Dispatcher, request } from 'undici';
import { connectionFor, type Family, familyOfSocket, serverTimingMs } from '../net/http.js';
import { errorCode } from './probe.js';

/**
 * One HTTP round trip to `${base}/speed/ping` on the dispatcher's (warm) connection, ms: from
 * sending the request to the end of the answer, minus the server's own processing time when it
 * reports one in Server-Timing (`app;dur=`). Throws on HTTP errors and after PING_TIMEOUT_MS.
 */
export async function pingOnce(
  base: string,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  timeoutMs = PING_TIMEOUT_MS,
): Promise<number> {
  const t0 = performance.now();
  const res = await request(new URL('/speed/ping', base), {
    dispatcher,
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    headers: { 'cache-control': 'no-store' },
  });
  await res.body.dump();
  const t = performance.now() - t0;
  if (res.statusCode >= 400)
    throw Object.assign(new Error(`ping answered HTTP ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
  const server = serverTimingMs(res.headers['server-timing']);
  return server !== undefined && server < t ? t - server : t;
}

/** Idle latency: `count` sequential pings on one kept-open connection; the first (cold) is discarded. */
export async function idleLatency(
  base: string,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  count = IDLE_LATENCY_REQUESTS,
): Promise<number[]> {
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = await pingOnce(base, dispatcher, signal);
    if (i > 0) rtts.push(t);
  }
  return rtts;
}

/** A connection that remembers the IP family its socket used. */
export interface TrackedConnection {
  dispatcher: Dispatcher;
  /** Family of the last socket opened, once one was. */
  family(): 4 | 6 | undefined;
}

export function trackedConnection(family: Family, opts: { bodyTimeoutMs?: number } = {}): TrackedConnection {
  let used: 4 | 6 | undefined;
  const dispatcher = connectionFor(family, {
    ...opts,
    onSocket: (s) => {
      used = familyOfSocket(s) ?? used;
    },
  });
  return { dispatcher, family: () => used };
}

export interface Candidate {
  id: string;
  medianMs?: number;
  code?: string;
}

export interface Selection {
  server: TestServer;
  /** Warm connection to the winner, kept for idle latency. */
  conn: TrackedConnection;
  candidates: Candidate[];
}

/**
 * Server selection (DESIGN.md §3): the lowest median idle RTT among the configured servers wins,
 * i-Speed style. Each candidate gets SELECT_PINGS pings on its own connection, the first (cold)
 * one discarded; one that fails is recorded with its error code. With a single server there is
 * nothing to choose and no extra pings. Throws the first error when no server answers.
 */
export async function selectServer(
  servers: readonly TestServer[],
  family: Family,
  signal: AbortSignal,
  pings = SELECT_PINGS,
): Promise<Selection> {
  if (servers.length === 0) throw Object.assign(new Error('no test server configured'), { code: 'NO_SERVER' });
  if (servers.length === 1) {
    const server = servers[0] as TestServer;
    return { server, conn: trackedConnection(family), candidates: [{ id: server.id }] };
  }
  const candidates: Candidate[] = [];
  let best: { server: TestServer; conn: TrackedConnection; median: number } | undefined;
  let firstError: unknown;
  for (const server of servers) {
    const conn = trackedConnection(family);
    try {
      const rtts = await idleLatency(server.url, conn.dispatcher, signal, Math.max(2, pings));
      const m = median(rtts);
      candidates.push({ id: server.id, medianMs: Math.round(m * 1000) / 1000 });
      if (!best || m < best.median) {
        if (best) await best.conn.dispatcher.close();
        best = { server, conn, median: m };
        continue;
      }
    } catch (err) {
      if (signal.aborted) throw err;
      firstError ??= err;
      candidates.push({ id: server.id, code: errorCode(err) });
    }
    await conn.dispatcher.destroy();
  }
  if (!best) throw firstError;
  return { server: best.server, conn: best.conn, candidates };
}

/** One loaded-latency probe: send time (ms since the prober started) and RTT (ms). */
export interface LoadedSample {
  t: number;
  rtt: number;
}

export interface LoadedProber {
  /** Stop probing; waits for a probe in flight (bounded by PING_TIMEOUT_MS), then returns the samples. */
  stop(): Promise<LoadedSample[]>;
}

/**
 * Loaded latency (DESIGN.md §3): on its own warm connection, ping every 200–400 ms (uniformly
 * random, so probes do not lock onto the streams' rhythm) while a direction runs. Pings are
 * sequential: a slow answer delays the next probe rather than queueing behind it.
 */
export function startLoadedProber(
  base: string,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  rand: () => number = Math.random,
): LoadedProber {
  const t0 = performance.now();
  const samples: LoadedSample[] = [];
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped && !signal.aborted) {
      const sent = performance.now();
      try {
        const rtt = await pingOnce(base, dispatcher, signal);
        samples.push({ t: sent - t0, rtt });
      } catch {
        // A probe lost under load (timeout) is no sample; the next one tries again.
      }
      const gap =
        LOADED_LATENCY_MIN_INTERVAL_MS + rand() * (LOADED_LATENCY_MAX_INTERVAL_MS - LOADED_LATENCY_MIN_INTERVAL_MS);
      const wait = sent + gap - performance.now();
      if (wait > 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      return samples;
    },
  };
}
