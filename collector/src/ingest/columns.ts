import type { Result } from '@hatang/shared';

/** The columns queries need, lifted out of a validated result. One place knows each kind's headline. */
export interface HeadlineColumns {
  downloadBps: number | null;
  uploadBps: number | null;
  latencyMs: number | null;
  jitterMs: number | null;
  lossPct: number | null;
}

export function headlineColumns(r: Result): HeadlineColumns {
  const none: HeadlineColumns = { downloadBps: null, uploadBps: null, latencyMs: null, jitterMs: null, lossPct: null };
  switch (r.kind) {
    case 'speed': {
      const b = r.speed;
      return {
        ...none,
        downloadBps: b?.download?.bps ?? null,
        uploadBps: b?.upload?.bps ?? null,
        latencyMs: b?.idle?.medianMs ?? null,
        jitterMs: b?.idle?.jitterMs ?? null,
      };
    }
    case 'latency':
      return { ...none, latencyMs: r.latency?.stats.medianMs ?? null, jitterMs: r.latency?.stats.jitterMs ?? null };
    case 'udp':
      return {
        ...none,
        latencyMs: r.udp?.rttMedianMs ?? null,
        jitterMs: r.udp?.jitterMs ?? null,
        lossPct: r.udp?.lossPct ?? null,
      };
    case 'ndt7':
      return {
        ...none,
        downloadBps: r.ndt7?.download?.bps ?? null,
        uploadBps: r.ndt7?.upload?.bps ?? null,
        latencyMs: r.ndt7?.download?.minRttMs ?? null,
      };
    case 'ipv6':
      return none;
  }
}
