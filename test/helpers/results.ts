// Builders of valid wire-contract results (docs/protocol.md) and a tiny ingest client, for tests
// that need a collector holding known data. Only loopback collectors are ever addressed.
import { randomBytes } from 'node:crypto';

/** A lower-case UUIDv7 for `ms` (RFC 9562 layout). */
export function uuid7(ms = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((b[6] as number) & 0x0f);
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const BOOT = 'b0e1c2d3-0000-4000-8000-000000000000';

interface Common {
  at?: number;
  access?: 'fixed' | 'mobile';
  status?: 'ok' | 'partial' | 'error';
  serverId?: string;
  isp?: string;
}

function base(kind: string, o: Common) {
  const at = o.at ?? Date.now() - 60_000;
  return {
    id: uuid7(at),
    kind,
    startedAt: new Date(at).toISOString(),
    // A boot other than the batch's and never seen: the collector keeps the agent's wall time.
    clock: { bootId: `old-${randomBytes(4).toString('hex')}`, uptimeMs: 1000 },
    durationMs: 1000,
    status: o.status ?? 'ok',
    ...(o.status === 'error' ? { error: { code: 'HTTP_503', phase: 'download', message: 'server answered 503' } } : {}),
    network: { access: o.access ?? 'fixed', family: 4, ...(o.isp ? { isp: o.isp } : {}) },
    ...(o.serverId ? { server: { id: o.serverId, url: 'http://127.0.0.1:1' } } : {}),
    bytesUsed: 1000,
    agentVersion: '0.1.0',
  };
}

export function speedResult(o: Common & { downBps?: number; upBps?: number; latencyMs?: number; jitterMs?: number }) {
  const dir = (bps: number) => ({
    bps,
    bytes: Math.round((bps / 8) * 10),
    durationMs: 10_000,
    warmupMs: 1500,
    streams: 8,
    stopReason: 'window',
  });
  return {
    ...base('speed', o),
    speed: {
      profile: 'fixed',
      idle: {
        samples: 19,
        minMs: 8,
        medianMs: o.latencyMs ?? 9,
        meanMs: 9.2,
        p90Ms: 11,
        jitterMs: o.jitterMs ?? 0.8,
        stdDevMs: 1,
      },
      ...(o.downBps !== undefined ? { download: dir(o.downBps) } : {}),
      ...(o.upBps !== undefined ? { upload: { ...dir(o.upBps), streams: 4, serverMeasured: true } } : {}),
    },
  };
}

export function latencyResult(o: Common & { medianMs: number; jitterMs: number }) {
  return {
    ...base('latency', o),
    latency: {
      method: 'http',
      stats: {
        samples: 19,
        minMs: 1,
        medianMs: o.medianMs,
        meanMs: o.medianMs,
        p90Ms: 1,
        jitterMs: o.jitterMs,
        stdDevMs: 1,
      },
    },
  };
}

export function udpResult(o: Common & { lossPct: number }) {
  const sent = 200;
  return {
    ...base('udp', o),
    udp: { sent, received: Math.round(sent * (1 - o.lossPct / 100)), lossPct: o.lossPct, rttMedianMs: 12, jitterMs: 1 },
  };
}

export function ipv6Result(o: Common & { works: boolean }) {
  return {
    ...base('ipv6', o),
    ipv6: {
      host: { globalAddress: o.works, defaultRoute: o.works },
      targets: [
        {
          name: 'collector',
          checks: [
            { check: 'dns-aaaa', status: o.works ? 'pass' : 'fail', ...(o.works ? {} : { code: 'NODATA' }) },
            { check: 'tcp-v6', status: o.works ? 'pass' : 'fail', ...(o.works ? {} : { code: 'ENETUNREACH' }) },
            { check: 'http-v6', status: o.works ? 'pass' : 'fail', ...(o.works ? {} : { code: 'ENETUNREACH' }) },
          ],
        },
      ],
    },
  };
}

/** POST one batch to a collector; returns the status and parsed body. `extra` adds envelope fields (agentStatus). */
export async function ingest(url: string, token: string, results: unknown[], extra: Record<string, unknown> = {}) {
  const res = await fetch(`${url}/api/v1/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      schema: 1,
      sentAt: new Date().toISOString(),
      clock: { bootId: BOOT, uptimeMs: 5_000_000 },
      results,
      ...extra,
    }),
  });
  return { status: res.status, body: (await res.json()) as any };
}
