import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type AgentConfig,
  type ByteSample,
  type Direction,
  DOWN_REQUEST_MAX_BYTES,
  DOWN_REQUEST_MIN_BYTES,
  DOWNLOAD_WARMUP_MS,
  isStable,
  latencyStats,
  loadedLatency,
  median,
  recentRate,
  rpm,
  SAMPLE_INTERVAL_MS,
  type SpeedBody,
  type SpeedUpResponse,
  STREAM_STAGGER_MS,
  summariseThroughput,
  sumSeries,
  UP_REQUEST_MAX_BYTES,
  UPLOAD_WARMUP_MS,
} from '@hatang/shared';
import { type Dispatcher, request } from 'undici';
import { agentLimitReason, linkSpeedMbps, watchCpu } from '../diag.js';
import { CountingGetConnection, type Family } from '../net/http.js';
import {
  idleLatency,
  type LoadedSample,
  pingOnce,
  type Selection,
  selectServer,
  startLoadedProber,
  trackedConnection,
} from './latency-core.js';
import { errorCode, errorMessage, type Probe, type ProbeContext } from './probe.js';

type StopReason = Direction['stopReason'];

/** Limits of one direction, from the agent config (docs/agent.md `speed`). */
export interface DirectionLimits {
  streams: number;
  windowMs: number;
  hardCapMs: number;
  capBytes: number;
  metered: boolean;
  stableMinMs: number;
  stableTolerance: number;
}

export function limitsOf(config: AgentConfig, phase: 'download' | 'upload'): DirectionLimits {
  const s = config.speed;
  const metered = s.profile === 'metered';
  return {
    streams: phase === 'download' ? s.downloadStreams : s.uploadStreams,
    windowMs: s.windowMs,
    hardCapMs: Math.max(s.hardCapMs, s.windowMs),
    capBytes: s.capBytes ?? (metered ? s.meteredCapBytes : s.fixedCapBytes),
    metered,
    stableMinMs: s.stableMinMs,
    stableTolerance: s.stableTolerancePct / 100,
  };
}

/**
 * The per-direction byte cap, shared by all streams. Nothing is asked of (download) or sent to
 * (upload) the server beyond it, so a test never moves more than the cap.
 */
export class ByteBudget {
  #left: number;
  constructor(cap: number) {
    this.#left = Math.max(0, Math.floor(cap));
  }
  /** Grant up to `n` bytes; 0 once the cap is spent. */
  take(n: number): number {
    const g = Math.max(0, Math.min(Math.floor(n), this.#left));
    this.#left -= g;
    return g;
  }
  get left(): number {
    return this.#left;
  }
}

/**
 * Size of the next download request: 1/(2 × streams) of the budget left, within
 * [DOWN_REQUEST_MIN_BYTES, DOWN_REQUEST_MAX_BYTES]. Requests shrink as the cap nears, so when
 * the cap ends a test all streams are still busy (nothing idles while others finish).
 */
export function downRequestSize(left: number, streams: number): number {
  return Math.min(DOWN_REQUEST_MAX_BYTES, Math.max(DOWN_REQUEST_MIN_BYTES, Math.floor(left / (2 * streams))));
}

interface StreamControl {
  /** Aborted when the direction stops (window, cap, stable) or the test is aborted. */
  signal: AbortSignal;
  /** True once the direction stopped; upload bodies end gracefully on it. */
  stopped(): boolean;
  /** Count bytes moved (client side: received for downloads, handed to the socket for uploads). */
  count(n: number): void;
  /** The byte budget ran out for this stream: stop the direction. */
  capReached(): void;
  budget: ByteBudget;
}

interface DirectionRun {
  /** Client-side cumulative bytes every ~100 ms, t in ms since the direction started. */
  samples: ByteSample[];
  stopReason: StopReason;
  /** Client-side bytes (received for downloads, sent for uploads). */
  bytes: number;
  loaded: LoadedSample[];
  errors: unknown[];
  /** Client clock (performance.now) when the direction started and when it stopped. */
  t0: number;
  stoppedAt: number;
}

/**
 * Run one direction: start `streams` streams 100 ms apart, sample total bytes every 100 ms, and
 * stop on the window, the byte cap, stability (metered profile), abort, or every stream failing.
 * A separate connection probes loaded latency throughout. After the stop the streams wind down
 * (uploads end their bodies and wait for the server's answers) until the hard cap at most.
 */
async function runDirection(
  ctx: ProbeContext,
  phase: 'download' | 'upload',
  limits: DirectionLimits,
  loadedConn: { base: string; dispatcher: Dispatcher },
  stream: (i: number, c: StreamControl) => Promise<void>,
): Promise<DirectionRun> {
  const stopAc = new AbortController();
  const hardAc = new AbortController();
  const onAbort = () => {
    stopAc.abort();
    hardAc.abort();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const budget = new ByteBudget(limits.capBytes);
  let total = 0;
  let capHit = false;
  const errors: unknown[] = [];
  const t0 = performance.now();
  const samples: ByteSample[] = [{ t: 0, bytes: 0 }];
  const prober = startLoadedProber(loadedConn.base, loadedConn.dispatcher, ctx.signal);
  const streamControl: StreamControl = {
    // Downloads are cut at the stop; uploads end their bodies and wait for the answers, so their
    // requests are aborted only at the hard cap.
    signal: phase === 'download' ? stopAc.signal : hardAc.signal,
    stopped: () => stopAc.signal.aborted,
    count: (n) => {
      total += n;
    },
    capReached: () => {
      capHit = true;
    },
    budget,
  };

  let running = limits.streams;
  const tasks = Array.from({ length: limits.streams }, async (_, i) => {
    await sleep(i * STREAM_STAGGER_MS, stopAc.signal);
    while (!stopAc.signal.aborted && !capHit) {
      try {
        await stream(i, streamControl);
      } catch (err) {
        if (!stopAc.signal.aborted && !hardAc.signal.aborted) {
          errors.push(err);
          break;
        }
      }
    }
    running--;
  });

  let stopReason: StopReason = 'window';
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = performance.now() - t0;
      samples.push({ t, bytes: total });
      ctx.onProgress?.({ phase, fraction: Math.min(1, t / limits.windowMs), bps: recentRate(samples) });
      let stop: StopReason | undefined;
      if (ctx.signal.aborted) stop = 'aborted';
      else if (capHit || budget.left === 0) stop = 'cap-bytes';
      else if (t >= limits.windowMs) stop = 'window';
      else if (limits.metered && isStable(samples, limits.stableMinMs, undefined, limits.stableTolerance))
        stop = 'stable';
      else if (running === 0) stop = errors.length > 0 ? 'error' : 'window';
      if (stop) {
        stopReason = stop;
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, SAMPLE_INTERVAL_MS);
  });
  const stoppedAt = performance.now();
  stopAc.abort();
  const loaded = prober.stop();
  // Wait for the streams to wind down (uploads: their last answers), never past the hard cap.
  const left = limits.hardCapMs - (performance.now() - t0);
  const hardTimer = setTimeout(() => hardAc.abort(), Math.max(0, left));
  const all = Promise.allSettled(tasks);
  await all;
  clearTimeout(hardTimer);
  if (hardAc.signal.aborted && phase === 'upload' && (stopReason as StopReason) !== 'aborted') stopReason = 'cap-time';
  ctx.signal.removeEventListener('abort', onAbort);
  return { samples, stopReason, bytes: total, loaded: await loaded, errors, t0, stoppedAt };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function httpError(what: string, status: number): Error {
  return Object.assign(new Error(`${what} answered HTTP ${status}`), { code: `HTTP_${status}` });
}

/**
 * GET `url` and count its body bytes as they arrive, straight from undici's dispatch handler: no
 * stream or promise per chunk, so the agent's own CPU stays far below what the line needs (at
 * multi-Gbit/s a body stream costs several times more per byte). Rejects on HTTP errors and abort.
 */
export function getCounting(
  dispatcher: Dispatcher,
  url: URL,
  signal: AbortSignal,
  count: (n: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    let controller: Dispatcher.DispatchController | undefined;
    const onAbort = () => controller?.abort(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (err?: Error) => {
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    dispatcher.dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { 'cache-control': 'no-store' },
      },
      {
        onRequestStart(c) {
          controller = c;
          if (signal.aborted) c.abort(signal.reason ?? new Error('aborted'));
        },
        onResponseStart(c, statusCode) {
          if (statusCode !== 200) c.abort(httpError('download', statusCode));
        },
        onResponseData(_c, chunk) {
          count(chunk.length);
        },
        onResponseEnd() {
          settle();
        },
        onResponseError(_c, err) {
          settle(err);
        },
      },
    );
  });
}

/** Loaded RTTs sent after the warm-up (all of them when none were). */
function afterWarmup(loaded: readonly LoadedSample[], warmupMs: number): number[] {
  const after = loaded.filter((s) => s.t >= warmupMs).map((s) => s.rtt);
  return after.length > 0 ? after : loaded.map((s) => s.rtt);
}

interface DirectionOutcome {
  direction: Direction;
  /** Loaded RTTs kept (after warm-up), for RPM. */
  loadedRtts: number[];
  /** Bytes this direction moved over the line, as far as the agent knows. */
  bytesUsed: number;
  errors: unknown[];
}

async function download(
  ctx: ProbeContext,
  base: string,
  family: Family,
  loadedConn: Dispatcher,
  idleMedian: number | undefined,
): Promise<DirectionOutcome> {
  const limits = limitsOf(ctx.config, 'download');
  // Plain http: the lean counting client (the agent's CPU never sets the figure); https: undici.
  const fast = new URL(base).protocol === 'http:';
  const conns = Array.from({ length: limits.streams }, () =>
    fast ? new CountingGetConnection(base, family) : trackedConnection(family).dispatcher,
  );
  try {
    const run = await runDirection(ctx, 'download', limits, { base, dispatcher: loadedConn }, async (i, c) => {
      const size = c.budget.take(downRequestSize(c.budget.left, limits.streams));
      if (size === 0) {
        c.capReached();
        return;
      }
      const conn = conns[i] as CountingGetConnection | Dispatcher;
      const path = `/speed/down?bytes=${size}`;
      if (conn instanceof CountingGetConnection) await conn.get(path, c.signal, c.count);
      else await getCounting(conn, new URL(path, base), c.signal, c.count);
    });
    const s = summariseThroughput(run.samples, DOWNLOAD_WARMUP_MS);
    const rtts = afterWarmup(run.loaded, s.warmupMs);
    const loaded = loadedLatency(rtts, idleMedian);
    if (run.stopReason === 'error' || s.bytes === 0) throw run.errors[0] ?? new Error('download moved no bytes');
    return {
      direction: {
        bps: Math.round(s.bps),
        bytes: run.bytes,
        durationMs: Math.round(s.durationMs),
        warmupMs: Math.round(s.warmupMs),
        streams: limits.streams,
        stopReason: run.stopReason,
        trimmedMeanBps: Math.round(s.trimmedMeanBps),
        p90Bps: Math.round(s.p90Bps),
        ...(loaded ? { loaded } : {}),
      },
      loadedRtts: rtts,
      bytesUsed: run.bytes,
      errors: run.errors,
    };
  } finally {
    await Promise.allSettled(conns.map((d) => (d instanceof CountingGetConnection ? d.close() : d.destroy())));
  }
}

/**
 * Upload chunks handed to the socket: from 16 KiB, doubling (to 1 MiB) while the socket asks for
 * more within 5 ms of the last chunk, halving when it waits over 50 ms. Slow lines get small chunks,
 * so the client-side count (live progress, the cap, the metered stop rule) moves smoothly: ≥ 100
 * chunks per 500 ms slice at any rate; fast lines get big ones, so JavaScript work per byte stays low.
 */
const UP_CHUNK_MIN = 16 * 1024;
const UP_CHUNK_MAX = 1024 * 1024;

export function nextUpChunk(size: number, sinceLastMs: number): number {
  if (sinceLastMs < 5) return Math.min(UP_CHUNK_MAX, size * 2);
  if (sinceLastMs > 50) return Math.max(UP_CHUNK_MIN, size / 2);
  return size;
}

let uploadPayload: Buffer | undefined;

/** One upload request's answer on the server clock, as an absolute cumulative series. */
export function answerSeries(a: SpeedUpResponse): ByteSample[] {
  if (a.bytes === 0) return [];
  const pts = a.samples && a.samples.length > 0 ? a.samples : [[a.durationMs, a.bytes] as [number, number]];
  const out = pts.map(([ms, bytes]) => ({ t: a.firstByteAt + ms, bytes }));
  const last = out[out.length - 1] as ByteSample;
  if (last.bytes !== a.bytes) out.push({ t: a.lastByteAt, bytes: a.bytes });
  return out;
}

/** One upload request: the server's answer and when the client sent it (client clock). */
export interface UpRequest {
  answer: SpeedUpResponse;
  sentAt: number;
}

/** One upload stream: its requests in order, and whether it ended cleanly. */
export interface UpStream {
  requests: UpRequest[];
  ok: boolean;
}

/**
 * Offset from the client's clock to the server's, ms: the smallest (first body byte on the
 * server) − (request sent by the client) over all requests. Requests go out on warm connections,
 * so the smallest is the one-way delay of an idle line, which this estimate keeps (it is small
 * next to the drain that follows the stop). Undefined without requests.
 */
export function clockOffset(streams: readonly UpStream[]): number | undefined {
  let best: number | undefined;
  for (const r of streams.flatMap((s) => s.requests)) {
    if (r.answer.bytes === 0) continue;
    const d = r.answer.firstByteAt - r.sentAt;
    if (best === undefined || d < best) best = d;
  }
  return best;
}

/**
 * The upload's server-side series: every request of every stream summed on the server's clock,
 * from the first byte any stream delivered to the earlier of (a) the moment the first stream to
 * finish delivered its last byte and (b) `cutAt`, the client's stop mapped onto the server clock.
 *
 * Why (b): when the bodies end, the streams drain, and TCP delivers to the server everything it
 * was holding behind lost packets. Counting that drain would count, at the end, bytes that
 * crossed the line before the window closed while the warm-up boundary at the start still has
 * such bytes held back: the rate would read high on lossy lines. Cutting at the client's stop
 * keeps both ends of the span in the same steady state, and the bodies keep the line busy while
 * they drain, so every stream is running up to the cut.
 * Streams that failed count with what the server confirmed, but do not end the span.
 */
export function uploadSeries(streams: readonly UpStream[], cutAt?: number): ByteSample[] {
  const answers = streams.flatMap((s) => s.requests.map((r) => r.answer)).filter((a) => a.bytes > 0);
  if (answers.length === 0) return [];
  const from = Math.min(...answers.map((a) => a.firstByteAt));
  const ends = streams
    .map((s) => s.requests.map((r) => r.answer).filter((a) => a.bytes > 0))
    .filter((list, i) => streams[i]?.ok && list.length > 0)
    .map((list) => Math.max(...list.map((a) => a.lastByteAt)));
  let to = ends.length > 0 ? Math.min(...ends) : Math.max(...answers.map((a) => a.lastByteAt));
  if (cutAt !== undefined && cutAt > from && cutAt < to) to = cutAt;
  return sumSeries(answers.map(answerSeries), from, to);
}

async function upload(
  ctx: ProbeContext,
  base: string,
  family: Family,
  loadedConn: Dispatcher,
  idleMedian: number | undefined,
): Promise<DirectionOutcome> {
  const limits = limitsOf(ctx.config, 'upload');
  uploadPayload ??= randomBytes(4 * 1024 * 1024);
  const payload = uploadPayload;
  const conns = Array.from({ length: limits.streams }, () => trackedConnection(family).dispatcher);
  const streams: UpStream[] = conns.map(() => ({ requests: [], ok: true }));
  try {
    // Warm every connection first: the clock offset then reads the one-way delay, not a handshake.
    await Promise.all(conns.map((d) => pingOnce(base, d, ctx.signal)));
    const run = await runDirection(ctx, 'upload', limits, { base, dispatcher: loadedConn }, async (i, c) => {
      const st = streams[i] as UpStream;
      let sent = 0;
      let offset = (i * 1_048_576) % payload.length;
      let chunk = UP_CHUNK_MIN;
      let last = performance.now();
      // The body ends gracefully when the direction stops or the cap runs out, so the server
      // answers for every byte it received: nothing sent in the window is lost from the count.
      const body = new Readable({
        highWaterMark: UP_CHUNK_MIN,
        read() {
          if (c.stopped() || sent >= UP_REQUEST_MAX_BYTES) {
            this.push(null);
            return;
          }
          const now = performance.now();
          chunk = nextUpChunk(chunk, now - last);
          last = now;
          const n = c.budget.take(Math.min(chunk, UP_REQUEST_MAX_BYTES - sent, payload.length - offset));
          if (n === 0) {
            c.capReached();
            this.push(null);
            return;
          }
          const piece = payload.subarray(offset, offset + n);
          offset = (offset + n) % payload.length;
          sent += n;
          c.count(n);
          this.push(piece);
        },
      });
      try {
        const sentAt = performance.now();
        const res = await request(new URL('/speed/up', base), {
          method: 'POST',
          dispatcher: conns[i] as Dispatcher,
          signal: c.signal,
          body,
          headers: { 'content-type': 'application/octet-stream' },
        });
        if (res.statusCode !== 200) {
          await res.body.dump().catch(() => {});
          throw httpError('upload', res.statusCode);
        }
        st.requests.push({ answer: (await res.body.json()) as SpeedUpResponse, sentAt });
      } catch (err) {
        st.ok = false;
        throw err;
      }
    });
    const offsetMs = clockOffset(streams);
    const series = uploadSeries(streams, offsetMs === undefined ? undefined : run.stoppedAt + offsetMs);
    const s = summariseThroughput(series, UPLOAD_WARMUP_MS);
    const received = streams.reduce((acc, st) => acc + st.requests.reduce((a, r) => a + r.answer.bytes, 0), 0);
    const rtts = afterWarmup(run.loaded, s.warmupMs);
    const loaded = loadedLatency(rtts, idleMedian);
    if (received === 0) throw run.errors[0] ?? new Error('the server received no upload bytes');
    return {
      direction: {
        bps: Math.round(s.bps),
        bytes: received,
        durationMs: Math.round(s.durationMs),
        warmupMs: Math.round(s.warmupMs),
        streams: limits.streams,
        stopReason: run.stopReason,
        trimmedMeanBps: Math.round(s.trimmedMeanBps),
        p90Bps: Math.round(s.p90Bps),
        serverMeasured: true,
        ...(loaded ? { loaded } : {}),
      },
      loadedRtts: rtts,
      bytesUsed: Math.max(run.bytes, received),
      errors: run.errors,
    };
  } finally {
    await Promise.allSettled(conns.map((d) => d.destroy()));
  }
}

/**
 * Speed test (DESIGN.md §3, docs/methodology.md): pick the server with the lowest idle latency,
 * measure idle latency on a warm connection, then download (8 streams) and upload (4 streams),
 * each with loaded latency on a separate connection. Upload rates are what the server received.
 */
export const speedProbe: Probe<'speed'> = {
  kind: 'speed',
  title: 'Speed',
  async run(ctx) {
    const pref = ctx.config.speed.family;
    const cpu = watchCpu();
    let phase = 'select';
    let bytesUsed = 0;
    let selection: Selection | undefined;
    let loadedConn: Dispatcher | undefined;
    let family: 4 | 6 = pref === '6' ? 6 : 4;
    const body: SpeedBody = { profile: ctx.config.speed.profile, familyPreference: pref };
    const errors: { code: string; phase: string; message: string }[] = [];
    try {
      ctx.onProgress?.({ phase, message: ctx.servers.map((s) => s.id).join(', ') });
      selection = await selectServer(ctx.servers, pref, ctx.signal);
      const base = selection.server.url;
      if (ctx.servers.length > 1) body.candidates = selection.candidates;
      phase = 'latency';
      ctx.onProgress?.({ phase, message: selection.server.url });
      const idleRtts = await idleLatency(base, selection.conn.dispatcher, ctx.signal);
      family = selection.conn.family() ?? family;
      const idle = latencyStats(idleRtts);
      if (idle) body.idle = idle;
      // Everything after uses the family the first connection used, so one test is one family.
      const fam: Family = String(family) as Family;
      loadedConn = trackedConnection(fam).dispatcher;
      await pingOnce(base, loadedConn, ctx.signal); // warm: loaded probes never pay the handshake
      const loadedAll: number[] = [];
      for (const [name, run] of [
        ['download', download],
        ['upload', upload],
      ] as const) {
        if (ctx.signal.aborted) break;
        phase = name;
        try {
          const out = await run(ctx, base, fam, loadedConn, idle?.medianMs);
          body[name] = out.direction;
          bytesUsed += out.bytesUsed;
          loadedAll.push(...out.loadedRtts);
          for (const err of out.errors) errors.push({ code: errorCode(err), phase: name, message: errorMessage(err) });
        } catch (err) {
          errors.push({ code: errorCode(err), phase: name, message: errorMessage(err) });
        }
      }
      const r = rpm(loadedAll.length > 0 ? median(loadedAll) : undefined);
      if (r !== undefined) body.rpm = r;
    } catch (err) {
      errors.push({ code: errorCode(err), phase, message: errorMessage(err) });
    } finally {
      await Promise.allSettled([selection?.conn.dispatcher.close(), loadedConn?.close()]);
    }
    const use = cpu.stop();
    body.cpu = {
      eventLoopPct: Math.round(Math.min(1, use.eventLoop) * 1000) / 10,
      processPct: Math.round(use.process * 1000) / 10,
      systemPct: Math.round(Math.min(1, use.system) * 1000) / 10,
    };
    const measured = body.download !== undefined || body.upload !== undefined;
    const bps = Math.max(body.download?.bps ?? 0, body.upload?.bps ?? 0);
    const limited = measured ? agentLimitReason(use, bps, linkSpeedMbps(ctx.config.agent.iface)) : undefined;
    const firstError = errors[0];
    return {
      // A direction that measured nothing makes the test partial; nothing measured is an error.
      status: !measured ? 'error' : errors.length > 0 || ctx.signal.aborted ? 'partial' : 'ok',
      body,
      ...(firstError ? { error: firstError } : {}),
      family,
      ...(selection ? { server: selection.server } : ctx.servers[0] ? { server: ctx.servers[0] } : {}),
      bytesUsed,
      ...(measured ? { agentLimited: limited !== undefined } : {}),
    };
  },
};
