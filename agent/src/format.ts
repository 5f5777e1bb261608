import { formatBytes, formatMbps, type Lang, type Result } from '@hatang/shared';
import { formatIpv6Checklist } from './ipv6/checklist.js';

/** A readable summary of one result for a person at the commune. */
export function describeResult(r: Result, opts: { lang?: Lang } = {}): string {
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
    case 'ipv6':
      if (r.ipv6) lines.push(...formatIpv6Checklist(r.ipv6, opts.lang ?? 'vi'));
      break;
    default:
      break;
  }
  lines.push(
    `  data used ${formatBytes(r.bytesUsed)}${r.agentLimited ? ' · limited by this computer, not the line' : ''}`,
  );
  return lines.join('\n');
}
