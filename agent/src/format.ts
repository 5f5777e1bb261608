import { formatBytes, formatMbps, type Lang, type Result } from '@hatang/shared';
import { formatIpv6Checklist } from './ipv6/checklist.js';
import type { Progress } from './probes/probe.js';

const ms = (v: number) => `${v < 100 ? v.toFixed(1) : v.toFixed(0)} ms`;
const sec = (v: number) => `${(v / 1000).toFixed(1)} s`;
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${ms(Math.abs(v))}`;

const STOP_TEXT: Record<string, string> = {
  window: 'full window',
  'cap-time': 'time limit',
  'cap-bytes': 'data cap reached',
  stable: 'stable, stopped early',
  error: 'error',
  aborted: 'aborted',
};

/**
 * One live progress line for the terminal, e.g. `download  ██████░░░░  62 %  38.2 Mbit/s`.
 * Generic: any probe's progress renders; the rate and bar appear when the probe reports them.
 */
export function formatProgress(p: Progress, width = 20): string {
  const parts = [p.phase.padEnd(9)];
  if (p.fraction !== undefined) {
    const f = Math.max(0, Math.min(1, p.fraction));
    const full = Math.round(f * width);
    parts.push(`${'█'.repeat(full)}${'░'.repeat(width - full)} ${String(Math.round(f * 100)).padStart(3)} %`);
  }
  if (p.bps !== undefined) parts.push(formatMbps(p.bps).padStart(12));
  if (p.message) parts.push(p.message);
  return parts.join('  ');
}

/** A readable summary of one result for a person at the commune. */
export function describeResult(r: Result, opts: { lang?: Lang } = {}): string {
  const lines: string[] = [];
  const server = r.server ? ` · server ${r.server.id} (${r.server.url})` : '';
  lines.push(`${r.kind} ${r.status} · ${r.startedAt} · IPv${r.network.family}${server}`);
  if (r.error) lines.push(`  error ${r.error.code} during ${r.error.phase}: ${r.error.message}`);
  switch (r.kind) {
    case 'speed': {
      const b = r.speed;
      if (!b) break;
      if (b.download) {
        const d = b.download;
        lines.push(
          `  download  ${formatMbps(d.bps).padStart(12)}   (${d.streams} streams, ${sec(d.durationMs)}, warm-up ${sec(d.warmupMs)} left out, ${STOP_TEXT[d.stopReason] ?? d.stopReason})`,
        );
      }
      if (b.upload) {
        const u = b.upload;
        lines.push(
          `  upload    ${formatMbps(u.bps).padStart(12)}   (${u.streams} streams, ${sec(u.durationMs)}, as received by the server, ${STOP_TEXT[u.stopReason] ?? u.stopReason})`,
        );
      }
      if (b.idle) {
        const i = b.idle;
        lines.push(
          `  latency   ${ms(i.medianMs).padStart(12)}   idle median (min ${ms(i.minMs)}, p90 ${ms(i.p90Ms)}, jitter ${ms(i.jitterMs)})`,
        );
      }
      const loaded: string[] = [];
      if (b.download?.loaded)
        loaded.push(`${ms(b.download.loaded.medianMs)} downloading (${signed(b.download.loaded.increaseMs)})`);
      if (b.upload?.loaded)
        loaded.push(`${ms(b.upload.loaded.medianMs)} uploading (${signed(b.upload.loaded.increaseMs)})`);
      if (loaded.length) lines.push(`  under load ${loaded.join(', ')}${b.rpm ? ` · ${b.rpm} RPM` : ''}`);
      if (b.candidates && b.candidates.length > 1) {
        lines.push(
          `  servers   ${b.candidates.map((c) => `${c.id} ${c.medianMs !== undefined ? ms(c.medianMs) : (c.code ?? '?')}`).join(', ')} (lowest latency chosen)`,
        );
      }
      lines.push(
        `  profile   ${b.profile}, IP family ${b.familyPreference ?? 'auto'} asked, IPv${r.network.family} used`,
      );
      break;
    }
    case 'latency':
      if (r.latency) {
        const s = r.latency.stats;
        lines.push(
          `  latency   ${ms(s.medianMs)} median (min ${ms(s.minMs)}, p90 ${ms(s.p90Ms)}), jitter ${ms(s.jitterMs)}, std dev ${ms(s.stdDevMs)}, ${s.samples} pings`,
        );
      }
      break;
    case 'ndt7': {
      const b = r.ndt7;
      if (b?.download)
        lines.push(
          `  ndt7 download ${formatMbps(b.download.bps)}${b.download.minRttMs !== undefined ? `  (MinRTT ${b.download.minRttMs.toFixed(1)} ms)` : ''}`,
        );
      if (b?.upload) lines.push(`  ndt7 upload   ${formatMbps(b.upload.bps)}  (measured by the server)`);
      if (b?.mlab) lines.push(`  M-Lab server ${b.machine ?? ''} (result published by M-Lab)`);
      break;
    }
    case 'ipv6':
      if (r.ipv6) lines.push(...formatIpv6Checklist(r.ipv6, opts.lang ?? 'vi'));
      break;
    case 'udp':
      if (r.udp) {
        const u = r.udp;
        const rtt =
          u.rttMedianMs !== undefined
            ? ` · RTT ${ms(u.rttMedianMs)} median${u.rttP90Ms !== undefined ? `, p90 ${ms(u.rttP90Ms)}` : ''}${u.jitterMs !== undefined ? `, jitter ${ms(u.jitterMs)}` : ''}`
            : '';
        lines.push(`  packet loss ${u.lossPct.toFixed(1)} % (${u.sent} sent, ${u.received} answered)${rtt}`);
      }
      break;
    default:
      break;
  }
  lines.push(
    `  data used ${formatBytes(r.bytesUsed)}${r.agentLimited ? ' · limited by this computer, not the line' : ''}`,
  );
  return lines.join('\n');
}

/** One line for `status` ("last results"): the headline figures of a result. */
export function summarise(r: Result): string {
  if (r.status === 'error' && r.error) return `error ${r.error.code} (${r.error.phase})`;
  const parts: string[] = [];
  switch (r.kind) {
    case 'speed':
      if (r.speed?.download) parts.push(`↓ ${formatMbps(r.speed.download.bps)}`);
      if (r.speed?.upload) parts.push(`↑ ${formatMbps(r.speed.upload.bps)}`);
      if (r.speed?.idle) parts.push(`${r.speed.idle.medianMs.toFixed(1)} ms`);
      break;
    case 'latency':
      if (r.latency)
        parts.push(`${r.latency.stats.medianMs.toFixed(1)} ms, jitter ${r.latency.stats.jitterMs.toFixed(1)} ms`);
      break;
    case 'udp':
      if (r.udp)
        parts.push(
          `loss ${r.udp.lossPct.toFixed(1)} %${r.udp.rttMedianMs !== undefined ? `, ${r.udp.rttMedianMs.toFixed(1)} ms` : ''}`,
        );
      break;
    case 'ipv6':
      if (r.ipv6) {
        const checks = r.ipv6.targets.flatMap((t) => t.checks);
        const pass = checks.filter((c) => c.status === 'pass').length;
        parts.push(`${pass}/${checks.length} checks pass`);
      }
      break;
    case 'ndt7':
      if (r.ndt7?.download) parts.push(`↓ ${formatMbps(r.ndt7.download.bps)}`);
      if (r.ndt7?.upload) parts.push(`↑ ${formatMbps(r.ndt7.upload.bps)}`);
      break;
    default:
      break;
  }
  const head = r.status === 'ok' ? '' : `${r.status}${r.error ? ` ${r.error.code}` : ''}: `;
  return `${head}${parts.join(' · ') || r.status}`.slice(0, 200);
}
