import type { Socket } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';

export type Family = 'auto' | '4' | '6';

export interface ConnectionOptions {
  /** Parallel connections per origin; 1 = one stream, one connection. */
  connections?: number;
  /** Connect and header timeout, ms. */
  timeoutMs?: number;
  /** Longest silence in a body, ms. */
  bodyTimeoutMs?: number;
  /** Called with each new socket (to learn the family actually used). */
  onSocket?: (socket: Socket) => void;
}

/**
 * An undici dispatcher with one kept-alive connection per origin (a stream = a connection) and
 * the chosen IP family: 4 or 6 forces it; auto lets the system choose (RFC 8305 happy eyeballs
 * through Node's autoSelectFamily), and `onSocket` reports which it chose.
 */
export function connectionFor(family: Family, opts: ConnectionOptions = {}): Dispatcher {
  const timeout = opts.timeoutMs ?? 10_000;
  const base = buildConnector({
    timeout,
    ...(family === 'auto' ? { autoSelectFamily: true } : { family: Number(family) as 4 | 6 }),
  });
  const connect: buildConnector.connector = (o, cb) =>
    base(o, (...args) => {
      const socket = args[1];
      if (socket && opts.onSocket) opts.onSocket(socket);
      cb(...args);
    });
  return new Agent({
    connections: opts.connections ?? 1,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeout,
    bodyTimeout: opts.bodyTimeoutMs ?? 15_000,
    connect,
  });
}

/** Numeric family of a socket's remote address (IPv4-mapped IPv6 counts as 4). */
export function familyOfSocket(socket: Socket): 4 | 6 | undefined {
  const a = socket.remoteAddress;
  if (!a) return undefined;
  if (a.startsWith('::ffff:') && a.includes('.')) return 4;
  return socket.remoteFamily === 'IPv6' || a.includes(':') ? 6 : 4;
}

/** Numeric family of an address string. */
export function familyOf(address: string | undefined): 4 | 6 {
  return address?.includes(':') ? 6 : 4;
}

/**
 * Total server processing time from a Server-Timing header (sum of `dur` of every metric named
 * `app`), ms; undefined when absent or unreadable. Subtracted from ping RTTs.
 */
export function serverTimingMs(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  let total: number | undefined;
  for (const metric of text.split(',')) {
    const [name, ...params] = metric.trim().split(';');
    if (name?.trim() !== 'app') continue;
    for (const p of params) {
      const m = /^\s*dur\s*=\s*"?([0-9.]+)"?\s*$/.exec(p);
      if (m) total = (total ?? 0) + Number(m[1]);
    }
  }
  return total !== undefined && Number.isFinite(total) ? total : undefined;
}
