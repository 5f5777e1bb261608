import type { AccessType, Result } from '@hatang/shared';
import { v7 as uuidv7 } from 'uuid';

/**
 * Realistic demo data for the dashboard, pushed through the real ingest API (POST /api/v1/results)
 * the way agents push it: each agent's results in batches, sent soon after they were measured,
 * with boot id and uptime so the collector re-bases their times. Used by the browser test, the
 * dashboard benchmark's smoke run and `pnpm demo:dashboard`. Deterministic for a given seed.
 */

export interface SeedAgentPlan {
  /** Agent id and token as registered in the collector. */
  id: string;
  token: string;
  communeCode: string;
  access: AccessType;
  isp: string;
  /** Typical download speed at the start of the period, Mbit/s. */
  baseMbps: number;
  /** Relative change per week (0.01 = +1 % a week). */
  trendPerWeek: number;
  /** Stops sending at this instant (a silent agent), ms since epoch. */
  silentFrom?: number;
  /** The commune's line has IPv6. */
  ipv6: boolean;
  agentVersion?: string;
  /**
   * The outbox status its batches carry (the envelope's agentStatus, docs/protocol.md §1.1);
   * absent: none, like an agent from before the status block. Every batch reports nothing waiting
   * behind it except the agent's last one when `backlog` is set: then `queued` results wait, the
   * oldest measured `oldestAgoMs` before that batch was sent.
   */
  outbox?: { deadLetters: number; dropped: number; backlog?: { queued: number; oldestAgoMs: number } };
}

export interface SeededSpeed {
  agentId: string;
  communeCode: string;
  access: AccessType;
  startedAt: number;
  downloadBps: number;
  uploadBps: number;
  latencyMs: number;
}

export interface SeedOptions {
  /** Collector base URL. */
  url: string;
  agents: SeedAgentPlan[];
  /** First instant with data, ms since epoch. */
  from: number;
  /** Last instant with data ("now"), ms since epoch. */
  to: number;
  /** Hours between speed tests (default 6; real agents test every 2 h). */
  speedEveryH?: number;
  /** Hours between an agent's pushes (default 24; real agents push after each test). */
  pushEveryH?: number;
  /** Sets the collector's clock before each batch, so receipt times (last seen) are realistic. */
  setClock?: (ms: number) => void;
  seed?: number;
  /** IPv6 targets checked by every agent. */
  ipv6Targets?: string[];
}

export interface SeedOutcome {
  speeds: SeededSpeed[];
  /** Results accepted by the collector, all kinds. */
  accepted: number;
  batches: number;
}

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-9);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const VN_OFFSET = 7 * HOUR;

function localHour(ms: number): number {
  return Math.floor(((((ms + VN_OFFSET) % DAY) + DAY) % DAY) / HOUR);
}

interface Pending {
  result: Result;
  startedAt: number;
}

function stats(medianMs: number, r: () => number) {
  const jitter = Math.max(0.3, medianMs * 0.08 * (1 + r()));
  return {
    samples: 19,
    minMs: Math.max(0.5, medianMs * 0.8),
    medianMs,
    meanMs: medianMs * 1.04,
    p90Ms: medianMs * 1.3,
    jitterMs: jitter,
    stdDevMs: jitter * 1.2,
  };
}

/** The results one agent measured over [from, to], oldest first. */
export function planResults(a: SeedAgentPlan, o: SeedOptions, r: () => number): Pending[] {
  const out: Pending[] = [];
  const version = a.agentVersion ?? '0.1.0';
  const end = Math.min(o.to, a.silentFrom ?? Number.POSITIVE_INFINITY);
  const every = (o.speedEveryH ?? 6) * HOUR;
  const base = {
    network: { access: a.access, family: 4 as const, isp: a.isp },
    server: { id: 'collector', url: 'http://collector.invalid/' },
    agentVersion: version,
  };
  for (let t = o.from + r() * every; t < end; t += every + (r() - 0.5) * HOUR) {
    const weeks = (t - o.from) / WEEK;
    const hour = localHour(t);
    const peak = hour >= 19 && hour < 23 ? 0.82 : hour >= 8 && hour < 17 ? 0.95 : 1.05;
    const down = Math.max(0.5, a.baseMbps * (1 + a.trendPerWeek * weeks) * peak * Math.exp(0.12 * gaussian(r)));
    const up = down * (a.access === 'fixed' ? 0.85 + r() * 0.1 : 0.3 + r() * 0.1);
    const idle = (a.access === 'fixed' ? 9 : 38) * (1 + r() * 0.6);
    const failed = r() < 0.02;
    const startedAt = Math.round(t);
    const durationMs = 21_000 + Math.round(r() * 2000);
    const dir = (mbps: number, streams: number) => ({
      bps: Math.round(mbps * 1e6),
      bytes: Math.round((mbps * 1e6 * 10) / 8),
      durationMs: 10_000,
      warmupMs: 1500,
      streams,
      stopReason: 'window' as const,
      trimmedMeanBps: Math.round(mbps * 0.98e6),
      p90Bps: Math.round(mbps * 1.06e6),
    });
    out.push({
      startedAt,
      result: failed
        ? ({
            ...base,
            id: uuidv7({ msecs: startedAt }),
            kind: 'speed',
            startedAt: new Date(startedAt).toISOString(),
            clock: { bootId: '', uptimeMs: 0 },
            durationMs: 5000,
            status: 'error',
            error: { code: 'TIMEOUT', phase: 'connect', message: 'no answer from the test server in 5 s' },
            bytesUsed: 0,
          } as Result)
        : ({
            ...base,
            id: uuidv7({ msecs: startedAt }),
            kind: 'speed',
            startedAt: new Date(startedAt).toISOString(),
            clock: { bootId: '', uptimeMs: 0 },
            durationMs,
            status: 'ok',
            bytesUsed: Math.round(((down + up) * 1e6 * 10) / 8),
            speed: {
              profile: a.access === 'mobile' ? 'metered' : 'fixed',
              download: dir(down, 8),
              upload: { ...dir(up, 4), serverMeasured: true },
              idle: stats(Math.round(idle * 10) / 10, r),
            },
          } as Result),
    });
  }
  // Latency twice a day, UDP loss and IPv6 checks daily.
  for (let t = o.from + r() * 12 * HOUR; t < end; t += 12 * HOUR) {
    const startedAt = Math.round(t);
    const med = Math.round((a.access === 'fixed' ? 10 : 40) * (1 + r() * 0.5) * 10) / 10;
    out.push({
      startedAt,
      result: {
        ...base,
        id: uuidv7({ msecs: startedAt }),
        kind: 'latency',
        startedAt: new Date(startedAt).toISOString(),
        clock: { bootId: '', uptimeMs: 0 },
        durationMs: 1500,
        status: 'ok',
        bytesUsed: 8000,
        latency: { method: 'http', stats: stats(med, r) },
      } as Result,
    });
  }
  for (let t = o.from + 2 * HOUR + r() * 6 * HOUR; t < end; t += DAY) {
    const startedAt = Math.round(t);
    const lost = Math.floor(r() * r() * 8);
    out.push({
      startedAt,
      result: {
        ...base,
        id: uuidv7({ msecs: startedAt }),
        kind: 'udp',
        startedAt: new Date(startedAt).toISOString(),
        clock: { bootId: '', uptimeMs: 0 },
        durationMs: 10_500,
        status: 'ok',
        bytesUsed: 200 * 64,
        udp: { sent: 200, received: 200 - lost, lossPct: lost / 2, rttMedianMs: 12 + r() * 30, jitterMs: 1 + r() * 4 },
      } as Result,
    });
    const ipv6At = startedAt + HOUR;
    if (ipv6At >= end) continue;
    const targets = o.ipv6Targets ?? ['collector', 'cong-thong-tin-tinh', 'dich-vu-cong'];
    out.push({
      startedAt: ipv6At,
      result: {
        ...base,
        network: { ...base.network, family: a.ipv6 ? 6 : 4 },
        id: uuidv7({ msecs: ipv6At }),
        kind: 'ipv6',
        startedAt: new Date(ipv6At).toISOString(),
        clock: { bootId: '', uptimeMs: 0 },
        durationMs: 3000,
        status: 'ok',
        bytesUsed: 20_000,
        ipv6: {
          host: { globalAddress: a.ipv6, defaultRoute: a.ipv6 },
          targets: targets.map((name, i) => {
            // The provincial portal (second target) has no AAAA record yet.
            const hasAaaa = i !== 1;
            const v6ok = a.ipv6 && hasAaaa;
            return {
              name,
              checks: [
                { check: 'dns-a', status: 'pass', ms: 12 },
                hasAaaa
                  ? { check: 'dns-aaaa', status: 'pass', ms: 14 }
                  : { check: 'dns-aaaa', status: 'fail', code: 'NODATA', ms: 15 },
                { check: 'tcp-v4', status: 'pass', ms: 20 + Math.round(r() * 10) },
                v6ok
                  ? { check: 'tcp-v6', status: 'pass', ms: 18 + Math.round(r() * 10) }
                  : { check: 'tcp-v6', status: 'fail', code: hasAaaa ? 'ENETUNREACH' : 'NODATA' },
                v6ok
                  ? { check: 'http-v6', status: 'pass', ms: 60 + Math.round(r() * 40), detail: 'HTTP 200' }
                  : { check: 'http-v6', status: 'skip' },
              ],
            };
          }),
        },
      } as Result,
    });
  }
  return out.sort((x, y) => x.startedAt - y.startedAt);
}

/** Push every agent's results through the ingest API; returns what was sent for expectations. */
export async function seedThroughIngest(o: SeedOptions): Promise<SeedOutcome> {
  const r = rng(o.seed ?? 20250312);
  const speeds: SeededSpeed[] = [];
  // Group pushes as agents would after an outage-free week: one batch per agent per day, at most 500 results.
  interface Push {
    at: number;
    agent: SeedAgentPlan;
    results: Pending[];
  }
  const pushes: Push[] = [];
  for (const a of o.agents) {
    const pending = planResults(a, o, r);
    for (const p of pending) {
      const res = p.result as Result & {
        speed?: { download?: { bps: number }; upload?: { bps: number }; idle?: { medianMs: number } };
      };
      if (res.kind === 'speed' && res.status === 'ok' && res.speed?.download) {
        speeds.push({
          agentId: a.id,
          communeCode: a.communeCode,
          access: a.access,
          startedAt: p.startedAt,
          downloadBps: res.speed.download.bps,
          uploadBps: res.speed.upload?.bps ?? 0,
          latencyMs: res.speed.idle?.medianMs ?? 0,
        });
      }
    }
    let day: Pending[] = [];
    const every = (o.pushEveryH ?? 24) * HOUR;
    let dayEnd = o.from + every;
    const flush = () => {
      if (!day.length) return;
      const last = day.at(-1) as Pending;
      // Sent 1–10 minutes after the last test of the day finished (the agent's outbox drains).
      pushes.push({ at: Math.min(o.to, last.startedAt + 60_000 + Math.round(r() * 540_000)), agent: a, results: day });
      day = [];
    };
    for (const p of pending) {
      while (p.startedAt >= dayEnd) {
        flush();
        dayEnd += every;
      }
      day.push(p);
      if (day.length >= 500) flush();
    }
    flush();
  }
  pushes.sort((x, y) => x.at - y.at);
  const lastPush = new Map<string, Push>();
  for (const p of pushes) lastPush.set(p.agent.id, p);
  let accepted = 0;
  const bootAt = new Map<string, number>();
  for (const a of o.agents) bootAt.set(a.id, o.from - DAY - Math.round(r() * DAY));
  for (const p of pushes) {
    const boot = bootAt.get(p.agent.id) as number;
    const bootId = `boot-${p.agent.id.slice(-12)}`;
    for (const q of p.results) {
      (q.result as { clock: unknown }).clock = { bootId, uptimeMs: Math.max(0, q.startedAt - boot) };
    }
    o.setClock?.(p.at);
    const ob = p.agent.outbox;
    const backlog = ob?.backlog && lastPush.get(p.agent.id) === p ? ob.backlog : undefined;
    const agentStatus = ob
      ? {
          queued: backlog?.queued ?? 0,
          ...(backlog
            ? {
                oldestQueued: {
                  startedAt: new Date(p.at - backlog.oldestAgoMs).toISOString(),
                  clock: { bootId, uptimeMs: p.at - backlog.oldestAgoMs - boot },
                },
              }
            : {}),
          deadLetters: ob.deadLetters,
          dropped: ob.dropped,
        }
      : undefined;
    const res = await fetch(`${o.url}/api/v1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.agent.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        schema: 1,
        sentAt: new Date(p.at).toISOString(),
        clock: { bootId, uptimeMs: p.at - boot },
        results: p.results.map((q) => q.result),
        ...(agentStatus ? { agentStatus } : {}),
      }),
    });
    const body = (await res.json()) as { accepted?: string[]; rejected?: Array<{ id: string; message: string }> };
    if (res.status !== 200 || body.rejected?.length) {
      throw new Error(`seed batch refused (${res.status}): ${JSON.stringify(body).slice(0, 500)}`);
    }
    accepted += body.accepted?.length ?? 0;
  }
  return { speeds, accepted, batches: pushes.length };
}

export { rng as seedRandom };
