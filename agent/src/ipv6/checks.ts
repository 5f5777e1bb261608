import { isIP } from 'node:net';
import { IPV6_PMTU_REQUEST_BYTES, type Ipv6Body, isPlaceholderUrl } from '@hatang/shared';
import { dualStackConnect, httpGet, tcpConnect } from './connect.js';
import { type DnsAnswer, lookupFamily } from './dns.js';

/** One check as it goes on the wire. */
export type Ipv6Check = Ipv6Body['targets'][number]['checks'][number];
export type Ipv6TargetBody = Ipv6Body['targets'][number];

export interface TargetCheckOptions {
  timeoutMs: number;
  slowMs: number;
  /** Happy Eyeballs attempt delay, ms (default IPV6_HAPPY_EYEBALLS_ATTEMPT_MS). */
  attemptDelayMs?: number | undefined;
  userAgent: string;
  signal?: AbortSignal | undefined;
}

/** pass, or slow past slowMs: the verdict of a check that succeeded. */
export function verdict(ms: number, slowMs: number): 'pass' | 'slow' {
  return ms > slowMs ? 'slow' : 'pass';
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The host name of a URL without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function portOf(url: URL): number {
  return Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
}

/** What a failed lookup means for the connect that needed it: the DNS reason, or NO_A / NO_AAAA. */
function missing(dns: DnsAnswer, family: 4 | 6): string {
  if (!dns.code || dns.code === 'NODATA') return family === 4 ? 'NO_A' : 'NO_AAAA';
  return dns.code;
}

/**
 * Run every check of one target, in order (docs/ipv6.md): dns-a, dns-aaaa, tcp-v4, tcp-v6,
 * http-v6, happy-eyeballs, pmtu-v6. A check that cannot run because an earlier one failed is
 * `skip` with that earlier check's code, so each chain has one root cause.
 */
export async function checkTarget(
  target: { name: string; url: string },
  o: TargetCheckOptions,
): Promise<{ body: Ipv6TargetBody; bytes: number }> {
  const base = { name: target.name, url: target.url };
  if (isPlaceholderUrl(target.url)) {
    return {
      body: { ...base, checks: [{ check: 'config', status: 'skip', code: 'NOT_CONFIGURED' }] },
      bytes: 0,
    };
  }
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return { body: { ...base, checks: [{ check: 'config', status: 'fail', code: 'BAD_URL' }] }, bytes: 0 };
  }
  const host = hostOf(url);
  const port = portOf(url);
  const checks: Ipv6Check[] = [];
  let bytes = 0;
  const aborted = () => o.signal?.aborted === true;
  const skip = (check: string, code: string, detail?: string): Ipv6Check => ({
    check,
    status: 'skip',
    code,
    ...(detail ? { detail } : {}),
  });

  // 1–2. A and AAAA lookups, at the same time (as a browser asks them).
  let a: DnsAnswer;
  let aaaa: DnsAnswer;
  const literal = isIP(host);
  if (literal) {
    const none: DnsAnswer = { ok: false, addresses: [], ms: 0, code: 'NODATA' };
    a = literal === 4 ? { ok: true, addresses: [host], ms: 0 } : none;
    aaaa = literal === 6 ? { ok: true, addresses: [host], ms: 0 } : none;
    checks.push(skip('dns-a', 'IP_LITERAL'), skip('dns-aaaa', 'IP_LITERAL'));
  } else {
    [a, aaaa] = await Promise.all([
      lookupFamily(host, 4, { timeoutMs: o.timeoutMs, signal: o.signal }),
      lookupFamily(host, 6, { timeoutMs: o.timeoutMs, signal: o.signal }),
    ]);
    bytes += 2 * 2 * (host.length + 40); // two queries and two answers, roughly
    for (const [check, ans, family] of [
      ['dns-a', a, 4],
      ['dns-aaaa', aaaa, 6],
    ] as const) {
      checks.push(
        ans.ok
          ? {
              check,
              status: verdict(ans.ms, o.slowMs),
              ms: round(ans.ms),
              family,
              detail: ans.addresses.slice(0, 2).join(' ') + (ans.addresses.length > 2 ? ' …' : ''),
            }
          : { check, status: 'fail', code: ans.code ?? 'DNS_ERROR', ms: round(ans.ms), family },
      );
    }
  }

  // 3–4. TCP connect over each family alone, to the first address of that family.
  const connect = async (check: 'tcp-v4' | 'tcp-v6', ans: DnsAnswer, family: 4 | 6): Promise<Ipv6Check> => {
    if (aborted()) return skip(check, 'ABORTED');
    const address = ans.addresses[0];
    if (!address) {
      // Lacking IPv4 is not an IPv6 problem (skip); lacking IPv6 is the finding (fail).
      const code = missing(ans, family);
      const detail = literal ? `the URL holds an IPv${literal} address` : undefined;
      return family === 4
        ? skip(check, code, detail)
        : { check, status: 'fail', code, family, ...(detail ? { detail } : {}) };
    }
    const r = await tcpConnect(address, port, { timeoutMs: o.timeoutMs, signal: o.signal });
    bytes += r.bytes;
    return r.ok
      ? { check, status: verdict(r.ms, o.slowMs), ms: round(r.ms), family, detail: `[${address}]:${port}` }
      : {
          check,
          status: 'fail',
          code: r.code ?? 'CONNECT_ERROR',
          ms: round(r.ms),
          family,
          detail: `[${address}]:${port}`,
        };
  };
  const tcp4 = await connect('tcp-v4', a, 4);
  const tcp6 = await connect('tcp-v6', aaaa, 6);
  checks.push(tcp4, tcp6);
  const v6Connected = tcp6.status === 'pass' || tcp6.status === 'slow';
  const v6Address = aaaa.addresses[0];

  // 5. HTTP(S) over IPv6 only.
  let http6: Ipv6Check;
  if (aborted()) http6 = skip('http-v6', 'ABORTED');
  else if (!v6Connected || !v6Address) http6 = skip('http-v6', tcp6.code ?? 'NO_AAAA');
  else {
    const r = await httpGet(url, v6Address, { timeoutMs: o.timeoutMs, signal: o.signal, userAgent: o.userAgent });
    bytes += r.bytes;
    if (!r.ok)
      http6 = { check: 'http-v6', status: 'fail', code: r.code ?? 'CONNECT_ERROR', ms: round(r.ms), family: 6 };
    else {
      const status = r.status ?? 0;
      const detail = `HTTP ${status}${r.tls ? ' · TLS ok' : ''}`;
      http6 =
        status >= 400
          ? {
              check: 'http-v6',
              status: 'fail',
              code: `HTTP_${status}`,
              ms: round(r.ms),
              family: 6,
              httpStatus: status,
              detail,
            }
          : {
              check: 'http-v6',
              status: verdict(r.ms, o.slowMs),
              ms: round(r.ms),
              family: 6,
              httpStatus: status,
              detail,
            };
    }
  }
  checks.push(http6);

  // 6. Dual stack: which family wins the race, and how fast.
  let he: Ipv6Check;
  if (aborted()) he = skip('happy-eyeballs', 'ABORTED');
  else if (a.addresses.length + aaaa.addresses.length === 0) {
    he = { check: 'happy-eyeballs', status: 'fail', code: aaaa.code ?? a.code ?? 'DNS_ERROR' };
  } else {
    const r = await dualStackConnect(host, aaaa.addresses, a.addresses, port, {
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      attemptDelayMs: o.attemptDelayMs,
    });
    bytes += r.bytes;
    if (r.ok && r.family) {
      const triedV6First = aaaa.addresses.length > 0;
      const detail =
        r.family === 6
          ? 'IPv6'
          : triedV6First
            ? 'IPv4 (IPv6 tried first, lost the race or failed)'
            : 'IPv4 (no IPv6 address)';
      he = { check: 'happy-eyeballs', status: verdict(r.ms, o.slowMs), ms: round(r.ms), family: r.family, detail };
    } else he = { check: 'happy-eyeballs', status: 'fail', code: r.code ?? 'CONNECT_ERROR', ms: round(r.ms) };
  }
  checks.push(he);

  // 7. A ~1 600-byte request over IPv6: bigger than one packet of a tunnel, so path-MTU trouble shows.
  let pmtu: Ipv6Check;
  if (aborted()) pmtu = skip('pmtu-v6', 'ABORTED');
  else if (http6.httpStatus === undefined || !v6Address) pmtu = skip('pmtu-v6', http6.code ?? 'NO_AAAA');
  else {
    const r = await httpGet(url, v6Address, {
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      userAgent: o.userAgent,
      padToBytes: IPV6_PMTU_REQUEST_BYTES,
    });
    bytes += r.bytes;
    const detail = `request ${r.requestBytes} bytes`;
    if (r.ok)
      pmtu = {
        check: 'pmtu-v6',
        status: verdict(r.ms, o.slowMs),
        ms: round(r.ms),
        family: 6,
        ...(r.status ? { httpStatus: r.status } : {}),
        detail,
      };
    else {
      // The small request got an answer a moment ago; the large one vanished: a path-MTU black hole.
      const code = r.code === 'TIMEOUT' ? 'PMTU_BLACKHOLE' : (r.code ?? 'CONNECT_ERROR');
      pmtu = { check: 'pmtu-v6', status: 'fail', code, ms: round(r.ms), family: 6, detail };
    }
  }
  checks.push(pmtu);

  return { body: { ...base, checks }, bytes };
}
