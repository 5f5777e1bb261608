import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import { IPV6_HAPPY_EYEBALLS_ATTEMPT_MS, IPV6_HTTP_MAX_BODY_BYTES } from '@hatang/shared';

/**
 * The network half of the IPv6 checks: TCP connects pinned to one family, a dual-stack connect
 * that races the families (RFC 8305 Happy Eyeballs, node's autoSelectFamily), and HTTP(S) pinned
 * to one address. Each returns data, never throws: a failing target is a result (STYLE.md §7).
 */

export interface NetOutcome {
  ok: boolean;
  ms: number;
  code?: string;
  message?: string;
  /** Bytes this operation moved on its socket, both directions. */
  bytes: number;
}

const TLS_EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const TLS_UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);

/** Socket, TLS and HTTP-parser errors → stable check codes (docs/ipv6.md). */
export function netCode(err: unknown): string {
  const e = err as { code?: unknown; errors?: unknown[] };
  // A dual-stack connect that failed on every address: the first attempt's reason (IPv6 first).
  if (typeof e?.code !== 'string' && Array.isArray(e?.errors) && e.errors.length > 0) return netCode(e.errors[0]);
  const code = typeof e?.code === 'string' ? e.code : '';
  if (TLS_EXPIRED.has(code)) return 'TLS_EXPIRED';
  if (TLS_UNTRUSTED.has(code)) return 'TLS_UNTRUSTED';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') return 'TLS_NAME_MISMATCH';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') return 'TLS_ERROR';
  if (code.startsWith('HPE_')) return 'HTTP_PROTOCOL';
  switch (code) {
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return 'ENETUNREACH';
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return 'EHOSTUNREACH';
    case 'ECONNREFUSED':
      return 'ECONNREFUSED';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'ECONNRESET';
    case 'EADDRNOTAVAIL':
      return 'EADDRNOTAVAIL';
    case 'ETIMEDOUT':
      return 'TIMEOUT';
    case 'EACCES':
    case 'EPERM':
      return 'BLOCKED';
    default:
      return 'CONNECT_ERROR';
  }
}

interface Deadline {
  signal: AbortSignal;
  /** Why it fired: 'timeout' or 'aborted'. */
  reason(): 'timeout' | 'aborted' | undefined;
  done(): void;
}

/** One AbortSignal for "past timeoutMs, or the caller aborted". */
function deadline(timeoutMs: number, outer?: AbortSignal): Deadline {
  const ac = new AbortController();
  let why: 'timeout' | 'aborted' | undefined;
  const timer = setTimeout(() => {
    why ??= 'timeout';
    ac.abort(new Error('timeout'));
  }, timeoutMs);
  const onAbort = () => {
    why ??= 'aborted';
    ac.abort(new Error('aborted'));
  };
  if (outer?.aborted) onAbort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ac.signal,
    reason: () => why,
    done() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

const codeFor = (d: Deadline, err: unknown) =>
  d.reason() === 'timeout' ? 'TIMEOUT' : d.reason() === 'aborted' ? 'ABORTED' : netCode(err);

const msg = (err: unknown) => String((err as Error)?.message ?? err).slice(0, 200);

export interface ConnectOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface DualStackOptions extends ConnectOptions {
  /** How long one address gets before the next is tried too, ms (RFC 8305 §5: 250). */
  attemptDelayMs?: number | undefined;
}

/** A TCP connect to one address; the time is the three-way handshake as the client sees it. */
export function tcpConnect(address: string, port: number, o: ConnectOptions): Promise<NetOutcome> {
  return new Promise((resolve) => {
    const d = deadline(o.timeoutMs, o.signal);
    const t0 = performance.now();
    const sock = net.connect({ host: address, port, family: net.isIP(address) as 4 | 6 });
    const finish = (r: Omit<NetOutcome, 'bytes'>) => {
      d.done();
      const bytes = sock.bytesRead + sock.bytesWritten;
      sock.destroy();
      resolve({ ...r, bytes });
    };
    d.signal.addEventListener('abort', () => finish({ ok: false, ms: performance.now() - t0, code: codeFor(d, null) }));
    sock.once('connect', () => finish({ ok: true, ms: performance.now() - t0 }));
    sock.once('error', (err) =>
      finish({ ok: false, ms: performance.now() - t0, code: codeFor(d, err), message: msg(err) }),
    );
  });
}

export interface DualStackOutcome extends NetOutcome {
  family?: 4 | 6;
  /** Addresses tried in order, as node reports them ("addr:port"). */
  attempted: string[];
}

/** RFC 8305 ordering: alternate families, IPv6 first (as browsers do with a global IPv6 address). */
export function interleave(v6: readonly string[], v4: readonly string[]): { address: string; family: 4 | 6 }[] {
  const out: { address: string; family: 4 | 6 }[] = [];
  for (let i = 0; i < Math.max(v6.length, v4.length); i++) {
    if (v6[i]) out.push({ address: v6[i] as string, family: 6 });
    if (v4[i]) out.push({ address: v4[i] as string, family: 4 });
  }
  return out;
}

/**
 * A dual-stack connect with Happy Eyeballs: node's autoSelectFamily races the addresses with a
 * head start each (250 ms by default). `host` is only a name for the socket; the addresses come from our own
 * lookups, so the check uses the same answers as the DNS checks.
 */
export function dualStackConnect(
  host: string,
  v6: readonly string[],
  v4: readonly string[],
  port: number,
  o: DualStackOptions,
): Promise<DualStackOutcome> {
  const all = interleave(v6, v4);
  const lookup = ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    if (opts?.all) cb(null, all);
    else cb(null, all[0]?.address, all[0]?.family);
  }) as unknown as LookupFunction;
  return new Promise((resolve) => {
    const d = deadline(o.timeoutMs, o.signal);
    const t0 = performance.now();
    const sock = net.connect({
      host,
      port,
      lookup,
      autoSelectFamily: true,
      autoSelectFamilyAttemptTimeout: o.attemptDelayMs ?? IPV6_HAPPY_EYEBALLS_ATTEMPT_MS,
    });
    const finish = (r: Omit<DualStackOutcome, 'bytes' | 'attempted'>) => {
      d.done();
      const bytes = sock.bytesRead + sock.bytesWritten;
      const attempted = [
        ...((sock as { autoSelectFamilyAttemptedAddresses?: string[] }).autoSelectFamilyAttemptedAddresses ?? []),
      ];
      sock.destroy();
      resolve({ ...r, bytes, attempted });
    };
    d.signal.addEventListener('abort', () => finish({ ok: false, ms: performance.now() - t0, code: codeFor(d, null) }));
    sock.once('connect', () =>
      finish({ ok: true, ms: performance.now() - t0, family: sock.remoteFamily === 'IPv6' ? 6 : 4 }),
    );
    sock.once('error', (err) =>
      finish({ ok: false, ms: performance.now() - t0, code: codeFor(d, err), message: msg(err) }),
    );
  });
}

export interface HttpOutcome extends NetOutcome {
  status?: number;
  /** The TLS certificate was verified (https only). */
  tls?: boolean;
  /** Bytes of the request as sent (line and headers). */
  requestBytes: number;
}

export interface HttpOptions extends ConnectOptions {
  /** Pad the request head to about this many bytes (path-MTU check). */
  padToBytes?: number | undefined;
  userAgent: string;
}

/**
 * GET `url` from exactly `address` (so IPv6 only when it is an IPv6 address), with the URL's host
 * name for Host, SNI and certificate checks. Redirects are not followed: any answer shows the
 * server is reachable; the body is read up to IPV6_HTTP_MAX_BODY_BYTES and dropped. The time is
 * to the response head (connect + TLS + first byte).
 */
export function httpGet(url: URL, address: string, o: HttpOptions): Promise<HttpOutcome> {
  const family = net.isIP(address) as 4 | 6;
  const lookup = ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
  const path = `${url.pathname}${url.search}`;
  const headers: Record<string, string> = {
    host: url.host,
    'user-agent': o.userAgent,
    accept: '*/*',
    connection: 'close',
  };
  const headBytes = () =>
    Buffer.byteLength(
      `GET ${path} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    );
  if (o.padToBytes) {
    const pad = o.padToBytes - headBytes() - Buffer.byteLength('x-hatang-padding: \r\n');
    if (pad > 0) headers['x-hatang-padding'] = 'x'.repeat(pad);
  }
  const requestBytes = headBytes();
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const d = deadline(o.timeoutMs, o.signal);
    const t0 = performance.now();
    let settled = false;
    const req = mod.request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path,
      method: 'GET',
      headers,
      lookup,
      family,
      agent: false,
      signal: d.signal,
      ...(url.protocol === 'https:' && !net.isIP(url.hostname.replace(/^\[|\]$/g, ''))
        ? { servername: url.hostname }
        : {}),
    });
    const bytes = () => (req.socket ? req.socket.bytesRead + req.socket.bytesWritten : 0);
    const finish = (r: Omit<HttpOutcome, 'bytes' | 'requestBytes'>) => {
      if (settled) return;
      settled = true;
      d.done();
      const b = bytes();
      req.destroy();
      resolve({ ...r, bytes: b, requestBytes });
    };
    req.once('response', (res) => {
      const ms = performance.now() - t0;
      const status = res.statusCode ?? 0;
      const tls = url.protocol === 'https:' ? true : undefined;
      let read = 0;
      res.on('data', (c: Buffer) => {
        read += c.length;
        if (read >= IPV6_HTTP_MAX_BODY_BYTES) finish({ ok: true, ms, status, ...(tls ? { tls } : {}) });
      });
      res.once('end', () => finish({ ok: true, ms, status, ...(tls ? { tls } : {}) }));
      res.once('error', () => finish({ ok: true, ms, status, ...(tls ? { tls } : {}) }));
    });
    req.once('error', (err) =>
      finish({ ok: false, ms: performance.now() - t0, code: codeFor(d, err), message: msg(err) }),
    );
    req.end();
  });
}
