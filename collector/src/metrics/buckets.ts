import { PLAN_TARGETS_MBPS, type TargetTable } from '@hatang/shared';

/**
 * Bucket edges of the download-speed histogram, Mbit/s, before the targets are added: a rough
 * log scale from 1 Mbit/s to 1 Gbit/s that a Grafana heatmap reads well.
 */
export const DOWNLOAD_BUCKET_BASE_MBPS: readonly number[] = [
  1, 2, 5, 10, 20, 30, 50, 60, 80, 100, 150, 200, 300, 500, 1000,
];

/**
 * Speeds are exported in bytes per second, Prometheus's base unit (promtool rejects `bits`):
 * 1 Mbit/s = 125 000 bytes/s, so 90 Mbit/s = 11 250 000. Dashboards multiply by 8 for people.
 */
export function mbpsToBytesPerSecond(mbps: number): number {
  return Math.round(mbps * 125_000);
}

/** bits/s (as results carry them) to bytes/s; null stays null. */
export function bytesPerSecond(bps: number | null): number | null {
  return bps === null ? null : bps / 8;
}

/**
 * Histogram edges in bytes/s: the base scale, every plan target and 0.8 × every target (FCC 80/80
 * style), so `le` buckets answer "share of tests at or above the target" exactly.
 */
export function downloadBuckets(targetsMbps: Iterable<number>): number[] {
  const edges = new Set<number>(DOWNLOAD_BUCKET_BASE_MBPS);
  for (const t of targetsMbps) {
    if (!(t > 0)) continue;
    edges.add(t);
    edges.add(Math.round(t * 0.8 * 1000) / 1000);
  }
  return [...edges].sort((a, b) => a - b).map(mbpsToBytesPerSecond);
}

/** Every target value of a target table (config `targets`, Mbit/s) and of the plan, for histogram edges. */
export function targetValuesMbps(table: TargetTable): number[] {
  const out: number[] = [];
  for (const t of [...Object.values(PLAN_TARGETS_MBPS), ...Object.values(table)]) {
    if (t.fixed !== undefined) out.push(t.fixed);
    if (t.mobile !== undefined) out.push(t.mobile);
  }
  return out;
}
