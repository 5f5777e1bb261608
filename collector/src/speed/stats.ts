/**
 * Live counters of the speed-test endpoints, decorated on the app as `speedStats` so /metrics can
 * read them (tests running, bytes served) without the routes knowing about Prometheus.
 */
export interface SpeedStats {
  /** Download and upload requests being served now. */
  active: number;
  downloads: number;
  uploads: number;
  /** Requests refused with 429: `speed.maxConcurrentTransfers` running, or a `public` limit reached. */
  refused: number;
  /** Transfers dropped at `public.maxRequestSeconds` (a client that stopped reading or trickled). */
  cutOff: number;
  bytesSent: number;
  bytesReceived: number;
}

export function createSpeedStats(): SpeedStats {
  return { active: 0, downloads: 0, uploads: 0, refused: 0, cutOff: 0, bytesSent: 0, bytesReceived: 0 };
}
