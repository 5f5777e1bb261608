import { formatBytes, formatMbps, type Result } from '@hatang/shared';

/** A readable summary of one result for a person at the commune. */
export function describeResult(r: Result): string {
  const lines: string[] = [];
  const head = `${r.kind} ${r.status} · ${r.startedAt} · IPv${r.network.family}${r.server ? ` · ${r.server.url}` : ''}`;
  lines.push(head);
  if (r.error) lines.push(`  error ${r.error.code} during ${r.error.phase}: ${r.error.message}`);
  switch (r.kind) {
    case 'speed': {
      const b = r.speed;
      if (b?.download)
        lines.push(
          `  download ${formatMbps(b.download.bps)}  (${b.download.streams} streams, stop: ${b.download.stopReason})`,
        );
      if (b?.upload)
        lines.push(`  upload   ${formatMbps(b.upload.bps)}  (${b.upload.streams} streams, measured by the server)`);
      if (b?.idle)
        lines.push(`  latency  ${b.idle.medianMs.toFixed(1)} ms median, jitter ${b.idle.jitterMs.toFixed(1)} ms`);
      break;
    }
    case 'latency':
      if (r.latency) {
        const s = r.latency.stats;
        lines.push(
          `  latency  ${s.medianMs.toFixed(1)} ms median (min ${s.minMs.toFixed(1)}, p90 ${s.p90Ms.toFixed(1)}), jitter ${s.jitterMs.toFixed(1)} ms`,
        );
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
