import { Resolver } from 'node:dns/promises';

/**
 * A and AAAA lookups with timing through node's c-ares Resolver. A new Resolver reads
 * /etc/resolv.conf, so it asks the resolver of the network namespace (or commune router) the
 * agent actually uses; it never reads /etc/hosts.
 */

export interface DnsAnswer {
  ok: boolean;
  addresses: string[];
  ms: number;
  /** Stable code when !ok (NXDOMAIN, NODATA, SERVFAIL, REFUSED, TIMEOUT, DNS_UNREACHABLE, …). */
  code?: string;
  message?: string;
}

/** c-ares error codes → stable check codes (docs/ipv6.md). */
export function dnsCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case 'ENOTFOUND':
      return 'NXDOMAIN';
    case 'ENODATA':
      return 'NODATA';
    case 'ESERVFAIL':
      return 'SERVFAIL';
    case 'EREFUSED':
      return 'REFUSED';
    case 'ETIMEOUT':
    case 'ECANCELLED':
      return 'TIMEOUT';
    case 'ECONNREFUSED':
      return 'DNS_UNREACHABLE';
    case 'EFORMERR':
    case 'EBADRESP':
    case 'EBADFAMILY':
    case 'EBADSTR':
      return 'DNS_BADRESP';
    default:
      return 'DNS_ERROR';
  }
}

/** Look up A (family 4) or AAAA (family 6) records of `host`, within `timeoutMs`. */
export async function lookupFamily(
  host: string,
  family: 4 | 6,
  opts: {
    timeoutMs: number;
    signal?: AbortSignal | undefined;
    /** Name servers to ask instead of /etc/resolv.conf's (tests). */
    servers?: string[] | undefined;
  },
): Promise<DnsAnswer> {
  // c-ares retries on its own timer; cap the whole lookup at timeoutMs and cancel the rest.
  const resolver = new Resolver({ timeout: Math.max(100, Math.floor(opts.timeoutMs / 2)), tries: 2 });
  if (opts.servers) resolver.setServers(opts.servers);
  const t0 = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    resolver.cancel();
  }, opts.timeoutMs);
  const onAbort = () => resolver.cancel();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const addresses = family === 4 ? await resolver.resolve4(host) : await resolver.resolve6(host);
    return {
      ok: addresses.length > 0,
      addresses,
      ms: performance.now() - t0,
      ...(addresses.length ? {} : { code: 'NODATA' }),
    };
  } catch (err) {
    const code = opts.signal?.aborted && !timedOut ? 'ABORTED' : timedOut ? 'TIMEOUT' : dnsCode(err);
    return { ok: false, addresses: [], ms: performance.now() - t0, code, message: (err as Error).message };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
