/**
 * ndt7 message shapes and the small pure rules both ends share (message-size scaling, Poisson
 * measurement intervals, rates from measurements, M-Lab scheduling). No I/O: randomness comes in
 * as an argument so every rule is table-tested.
 */
import {
  MLAB_LOCATE_BACKOFF_JITTER,
  MLAB_LOCATE_BACKOFF_MS,
  MLAB_SCHEDULE_MAX_MS,
  MLAB_SCHEDULE_MEAN_MS,
  MLAB_SCHEDULE_MIN_MS,
  NDT7_MAX_SCALED_MESSAGE_BYTES,
  NDT7_MEASUREMENT_MAX_MS,
  NDT7_MEASUREMENT_MEAN_MS,
  NDT7_MEASUREMENT_MIN_MS,
  NDT7_SCALING_FRACTION,
} from './ndt7-spec.js';

export type Ndt7Test = 'download' | 'upload';

/** Application-level counters: bytes moved without WebSocket, TLS or TCP overhead. */
export interface Ndt7AppInfo {
  /** Microseconds since the end of the WebSocket handshake. */
  ElapsedTime: number;
  NumBytes: number;
}

/** Sent once, in the server's first measurement. */
export interface Ndt7ConnectionInfo {
  /** Client address as the server sees it, "ip:port" ("[ip]:port" for IPv6). */
  Client: string;
  Server: string;
  UUID: string;
  /** RFC 3339 start of the subtest. */
  StartTime?: string;
}

/**
 * The kernel's TCP_INFO as far as the platform tells (Linux, read through `ss`). Names and units
 * follow ndt-server's model: times in microseconds, counters in bytes.
 */
export interface Ndt7TcpInfo {
  /** Microseconds since the start of the subtest when sampled. */
  ElapsedTime: number;
  BytesAcked?: number;
  BytesReceived?: number;
  BytesSent?: number;
  BytesRetrans?: number;
  /** Microseconds. */
  MinRTT?: number;
  /** Smoothed RTT, microseconds. */
  RTT?: number;
  /** Microseconds. */
  RTTVar?: number;
  /** Microseconds the connection had data to send. */
  BusyTime?: number;
  /** Microseconds limited by the receiver's window. */
  RWndLimited?: number;
  /** Microseconds limited by the send buffer. */
  SndBufLimited?: number;
  SndCwnd?: number;
  SndMSS?: number;
  TotalRetrans?: number;
  /** Bytes per second, as the kernel estimates delivery. */
  DeliveryRate?: number;
}

export interface Ndt7Measurement {
  AppInfo?: Ndt7AppInfo;
  ConnectionInfo?: Ndt7ConnectionInfo;
  TCPInfo?: Ndt7TcpInfo;
  Origin?: 'server' | 'client';
  Test?: Ndt7Test;
}

/**
 * Size of the next binary message: it doubles while it is at most 1/16 of the bytes sent so far,
 * and stops growing at 2^20 (ndt-server's sender). `size` is the current size, `sent` the total.
 */
export function nextMessageSize(size: number, sent: number, cap: number = NDT7_MAX_SCALED_MESSAGE_BYTES): number {
  if (size >= cap) return cap;
  return size * NDT7_SCALING_FRACTION <= sent ? Math.min(cap, size * 2) : size;
}

/** One Poisson-process interval (exponential, mean 250 ms) clamped to 25–625 ms. `u` is uniform in [0, 1). */
export function poissonIntervalMs(u: number): number {
  const draw = -Math.log(1 - Math.min(Math.max(u, 0), 1 - Number.EPSILON)) * NDT7_MEASUREMENT_MEAN_MS;
  return Math.min(NDT7_MEASUREMENT_MAX_MS, Math.max(NDT7_MEASUREMENT_MIN_MS, draw));
}

/** 8 · NumBytes / ElapsedTime of an AppInfo, bits per second; 0 before any time has passed. */
export function appInfoBps(a: Ndt7AppInfo | undefined): number {
  return a && a.ElapsedTime > 0 ? (a.NumBytes * 8 * 1e6) / a.ElapsedTime : 0;
}

/**
 * The rate a measurement shows for its subtest, bits per second: TCPInfo where the platform gave
 * it (BytesAcked for a download, BytesReceived for an upload — ndt-server's downRate/upRate), else
 * AppInfo. Undefined when the measurement holds neither.
 */
export function measurementBps(m: Ndt7Measurement | undefined, test: Ndt7Test): number | undefined {
  if (!m) return undefined;
  const t = m.TCPInfo;
  const bytes = test === 'download' ? t?.BytesAcked : t?.BytesReceived;
  if (t && bytes !== undefined && t.ElapsedTime > 0) return (bytes * 8 * 1e6) / t.ElapsedTime;
  return m.AppInfo && m.AppInfo.ElapsedTime > 0 ? appInfoBps(m.AppInfo) : undefined;
}

/** Retransmitted share of bytes sent, percent (a crude loss proxy), where TCPInfo tells. */
export function retransPct(t: Ndt7TcpInfo | undefined): number | undefined {
  if (!t || t.BytesRetrans === undefined || !t.BytesSent) return undefined;
  return Math.min(100, (t.BytesRetrans / t.BytesSent) * 100);
}

/**
 * Sleep before the next unattended test against M-Lab, ms: exponential with mean 6 h, clamped to
 * 36 min – 15 h (ndt7 spec, "requirements for non-interactive clients"). `u` is uniform in [0, 1).
 */
export function mlabNextTestDelayMs(u: number): number {
  const draw = -Math.log(1 - Math.min(Math.max(u, 0), 1 - Number.EPSILON)) * MLAB_SCHEDULE_MEAN_MS;
  return Math.min(MLAB_SCHEDULE_MAX_MS, Math.max(MLAB_SCHEDULE_MIN_MS, draw));
}

/**
 * Wait after the `attempt`-th (0-based) locate answer of "no capacity", ms: normal with mean
 * 60·2^attempt s and standard deviation 5 % of the mean. `z` is a standard normal draw; undefined
 * once the 960 s step is used up (give up until the next scheduled test).
 */
export function mlabBackoffMs(attempt: number, z: number): number | undefined {
  const mean = MLAB_LOCATE_BACKOFF_MS[attempt];
  if (mean === undefined) return undefined;
  return Math.max(0, mean + z * MLAB_LOCATE_BACKOFF_JITTER * mean);
}

/** A standard normal draw from two uniforms (Box–Muller). */
export function standardNormal(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(1 - Math.min(u1, 1 - Number.EPSILON))) * Math.cos(2 * Math.PI * u2);
}
