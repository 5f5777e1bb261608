/** Unit conversions. Wire and storage use bits per second, milliseconds and bytes; people read Mbit/s. */

/** Bits per second from bytes moved over milliseconds: bytes × 8 / (ms / 1000). */
export function bitsPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? (bytes * 8 * 1000) / ms : 0;
}

/** Mbit/s (10^6 bits per second, as i-Speed and the plan use). */
export function toMbps(bps: number): number {
  return bps / 1e6;
}

export function fromMbps(mbps: number): number {
  return mbps * 1e6;
}

/** "93.4 Mbit/s" with one decimal below 100, none above. */
export function formatMbps(bps: number, unit = 'Mbit/s'): string {
  if (!Number.isFinite(bps)) return '—';
  const m = toMbps(bps);
  return `${m >= 100 ? m.toFixed(0) : m.toFixed(1)} ${unit}`;
}

/** Bytes as a person reads them (decimal units, as data plans are sold). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
