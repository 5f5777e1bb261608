import { randomBytes } from 'node:crypto';
import {
  type ByteSample,
  type Direction,
  DOWNLOAD_WARMUP_MS,
  FIXED_PROFILE_CAP_BYTES,
  isStable,
  METERED_PROFILE_CAP_BYTES,
  SAMPLE_INTERVAL_MS,
  type SpeedUpResponse,
  STREAM_STAGGER_MS,
  summariseThroughput,
  TEST_HARD_CAP_MS,
  UPLOAD_WARMUP_MS,
} from '@hatang/shared';
import { type Dispatcher, request } from 'undici';
import { isAgentLimited, linkSpeedMbps, watchCpu } from '../diag.js';
import { connectionFor } from '../net/http.js';
import { idleLatency, latencyStats } from './latency-core.js';
import { errorCode, errorMessage, type Probe, type ProbeContext } from './probe.js';

type StopReason = Direction['stopReason'];

const DOWN_REQUEST_BYTES = 25 * 1024 * 1024;
const UP_MIN_REQUEST = 256 * 1024;
const UP_MAX_REQUEST = 16 * 1024 * 1024;

interface DirectionRun {
  samples: ByteSample[];
  stopReason: StopReason;
  durationMs: number;
  bytes: number;
}

function capFor(ctx: ProbeContext): number {
  return (
    ctx.config.speed.capBytes ??
    (ctx.config.speed.profile === 'metered' ? METERED_PROFILE_CAP_BYTES : FIXED_PROFILE_CAP_BYTES)
  );
}

/** Shared loop: start streams staggered, sample cumulative bytes every 100 ms, stop on window/cap/stability. */
async function runDirection(
  ctx: ProbeContext,
  phase: 'download' | 'upload',
  streams: number,
  stream: (i: number, signal: AbortSignal, count: (n: number) => void) => Promise<void>,
): Promise<DirectionRun> {
  const window = Math.min(ctx.config.speed.windowMs, TEST_HARD_CAP_MS);
  const cap = capFor(ctx);
  const metered = ctx.config.speed.profile === 'metered';
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let total = 0;
  const t0 = performance.now();
  const samples: ByteSample[] = [{ t: 0, bytes: 0 }];
  let stopReason: StopReason = 'window';
  let firstError: unknown;
  const count = (n: number) => {
    total += n;
  };
  const tasks = Array.from({ length: streams }, async (_, i) => {
    await new Promise((r) => setTimeout(r, i * STREAM_STAGGER_MS));
    while (!ac.signal.aborted) {
      try {
        await stream(i, ac.signal, count);
      } catch (err) {
        if (!ac.signal.aborted) {
          firstError ??= err;
          return;
        }
      }
    }
  });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const t = performance.now() - t0;
      samples.push({ t, bytes: total });
      ctx.onProgress?.({ phase, fraction: Math.min(1, t / window), bps: recentRate(samples) });
      let stop: StopReason | undefined;
      if (ctx.signal.aborted) stop = 'aborted';
      else if (t >= window) stop = 'window';
      else if (total >= cap) stop = 'cap-bytes';
      else if (metered && isStable(samples)) stop = 'stable';
      else if (firstError !== undefined && total === 0) stop = 'error';
      if (stop) {
        stopReason = stop;
        clearInterval(timer);
        ac.abort();
        resolve();
      }
    }, SAMPLE_INTERVAL_MS);
  });
  await Promise.allSettled(tasks);
  ctx.signal.removeEventListener('abort', onAbort);
  const last = samples[samples.length - 1]!;
  if ((stopReason as StopReason) === 'error') throw firstError;
  return { samples, stopReason, durationMs: last.t, bytes: total };
}

function recentRate(samples: ByteSample[]): number {
  const a = samples[Math.max(0, samples.length - 6)]!;
  const b = samples[samples.length - 1]!;
  return b.t > a.t ? ((b.bytes - a.bytes) * 8 * 1000) / (b.t - a.t) : 0;
}

async function download(ctx: ProbeContext, base: string, dispatchers: Dispatcher[]): Promise<Direction> {
  const run = await runDirection(ctx, 'download', dispatchers.length, async (i, signal, count) => {
    const res = await request(new URL(`/speed/down?bytes=${DOWN_REQUEST_BYTES}`, base), {
      dispatcher: dispatchers[i]!,
      signal,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw Object.assign(new Error(`download answered HTTP ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
    }
    for await (const chunk of res.body) count((chunk as Buffer).length);
  });
  const s = summariseThroughput(run.samples, DOWNLOAD_WARMUP_MS);
  return {
    bps: Math.round(s.bps),
    bytes: run.bytes,
    durationMs: Math.round(run.durationMs),
    warmupMs: Math.round(s.warmupMs),
    streams: dispatchers.length,
    stopReason: run.stopReason,
    trimmedMeanBps: Math.round(s.trimmedMeanBps),
    p90Bps: Math.round(s.p90Bps),
  };
}

let uploadBuffer: Buffer | undefined;
function uploadBody(bytes: number): Buffer {
  uploadBuffer ??= randomBytes(UP_MAX_REQUEST);
  return uploadBuffer.subarray(0, bytes);
}

async function upload(ctx: ProbeContext, base: string, dispatchers: Dispatcher[]): Promise<Direction> {
  // The headline counts only what the server says it received, spread over the server's own timing.
  const received: SpeedUpResponse[] = [];
  const size = dispatchers.map(() => UP_MIN_REQUEST);
  const run = await runDirection(ctx, 'upload', dispatchers.length, async (i, signal, count) => {
    const body = uploadBody(size[i]!);
    const t0 = performance.now();
    const res = await request(new URL('/speed/up', base), {
      method: 'POST',
      dispatcher: dispatchers[i]!,
      signal,
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const answer = (await res.body.json()) as SpeedUpResponse;
    if (res.statusCode !== 200) {
      throw Object.assign(new Error(`upload answered HTTP ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
    }
    count(answer.bytes);
    received.push(answer);
    // Aim for requests of ~250 ms so little is lost when the window closes mid-request.
    if (performance.now() - t0 < 250) size[i] = Math.min(UP_MAX_REQUEST, size[i]! * 2);
  });
  const series = serverSeries(received);
  const s = summariseThroughput(series, UPLOAD_WARMUP_MS);
  return {
    bps: Math.round(s.bps),
    bytes: run.bytes,
    durationMs: Math.round(run.durationMs),
    warmupMs: Math.round(s.warmupMs),
    streams: dispatchers.length,
    stopReason: run.stopReason,
    trimmedMeanBps: Math.round(s.trimmedMeanBps),
    p90Bps: Math.round(s.p90Bps),
    serverMeasured: true,
  };
}

/** Cumulative bytes on the server's clock, each request's bytes spread evenly over its receive time. */
export function serverSeries(received: readonly SpeedUpResponse[]): ByteSample[] {
  if (received.length === 0) return [];
  const start = Math.min(...received.map((r) => r.firstByteAt));
  const end = Math.max(...received.map((r) => r.lastByteAt));
  const out: ByteSample[] = [];
  for (let t = 0; t <= end - start + SAMPLE_INTERVAL_MS; t += SAMPLE_INTERVAL_MS) {
    const at = start + t;
    let bytes = 0;
    for (const r of received) {
      if (at >= r.lastByteAt) bytes += r.bytes;
      else if (at > r.firstByteAt)
        bytes += (r.bytes * (at - r.firstByteAt)) / Math.max(1, r.lastByteAt - r.firstByteAt);
    }
    out.push({ t, bytes });
  }
  return out;
}

/** Speed test: idle latency, then download (8 streams) and upload (4 streams) against the first server. */
export const speedProbe: Probe<'speed'> = {
  kind: 'speed',
  title: 'Speed',
  async run(ctx) {
    const server = ctx.servers[0]!;
    const fam = ctx.config.speed.family;
    const family: 4 | 6 = fam === '6' || (fam === 'auto' && new URL(server.url).hostname.startsWith('[')) ? 6 : 4;
    const pinger = connectionFor(fam);
    const downs = Array.from({ length: ctx.config.speed.downloadStreams }, () => connectionFor(fam));
    const ups = Array.from({ length: ctx.config.speed.uploadStreams }, () => connectionFor(fam));
    const cpu = watchCpu();
    let phase = 'latency';
    let bytesUsed = 0;
    try {
      ctx.onProgress?.({ phase, message: server.url });
      const idle = latencyStats(await idleLatency(server.url, pinger, ctx.signal));
      phase = 'download';
      const dl = await download(ctx, server.url, downs);
      bytesUsed += dl.bytes;
      phase = 'upload';
      const ul = await upload(ctx, server.url, ups);
      bytesUsed += ul.bytes;
      const link = linkSpeedMbps(ctx.config.agent.iface);
      const limited = isAgentLimited(cpu.stop(), Math.max(dl.bps, ul.bps), link);
      return {
        status: ctx.signal.aborted ? 'partial' : 'ok',
        body: { profile: ctx.config.speed.profile, idle, download: dl, upload: ul },
        family,
        server,
        bytesUsed,
        agentLimited: limited,
      };
    } catch (err) {
      return {
        status: 'error',
        error: { code: errorCode(err), phase, message: errorMessage(err) },
        family,
        server,
        bytesUsed,
      };
    } finally {
      await Promise.allSettled([pinger, ...downs, ...ups].map((d) => d.close()));
    }
  },
};
