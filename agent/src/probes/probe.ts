import type {
  AgentConfig,
  Ipv6Body,
  LatencyBody,
  Ndt7Body,
  ResultKind,
  SpeedBody,
  TestServer,
  UdpBody,
} from '@hatang/shared';
import type { Logger } from '../log.js';

/** Live progress a probe may report (the CLI prints it; the daemon ignores it). */
export interface Progress {
  phase: string;
  /** Current rate, bits per second, where it makes sense. */
  bps?: number;
  /** 0–1 share of the phase done. */
  fraction?: number;
  message?: string;
}

/** What every probe gets: the one contract (blackbox's ProbeFn, typed). */
export interface ProbeContext {
  config: AgentConfig;
  /** Aborted when the test overruns or the agent stops. */
  signal: AbortSignal;
  log: Logger;
  /** Wall clock, ms. */
  now: () => number;
  /** Servers to test against, collector first when none are configured. */
  servers: TestServer[];
  /** Bearer token, for endpoints that need it (UDP echo, ndt7 with auth). */
  token?: string | undefined;
  onProgress?: ((p: Progress) => void) | undefined;
}

export interface Bodies {
  speed: SpeedBody;
  latency: LatencyBody;
  udp: UdpBody;
  ipv6: Ipv6Body;
  ndt7: Ndt7Body;
}

/**
 * What a probe returns. A failing target is data (status "error" with code and phase), never an
 * exception: probes throw only on bugs.
 */
export interface ProbeOutcome<K extends ResultKind = ResultKind> {
  status: 'ok' | 'partial' | 'error';
  body?: Bodies[K] | undefined;
  error?: { code: string; phase: string; message: string } | undefined;
  family: 4 | 6;
  server?: TestServer | undefined;
  bytesUsed: number;
  agentLimited?: boolean | undefined;
}

export interface Probe<K extends ResultKind = ResultKind> {
  kind: K;
  /** Human title for the CLI. */
  title: string;
  run(ctx: ProbeContext): Promise<ProbeOutcome<K>>;
}

/** Turn any thrown network error into a stable code for `error.code`. */
export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'TIMEOUT';
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  if (!code) return 'ERROR';
  return code
    .replace(/^UND_ERR_/, '')
    .replace(/[^A-Za-z0-9._:@-]/g, '_')
    .slice(0, 64);
}

export function errorMessage(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown } };
  const m = typeof e?.message === 'string' ? e.message : String(err);
  const c = typeof e?.cause?.message === 'string' ? `: ${e.cause.message}` : '';
  return (m + c).slice(0, 500);
}
