import { type AgentConfig, IPV6_MAX_TARGETS, IPV6_TARGET_CONCURRENCY } from '@hatang/shared';
import { checkTarget, type Ipv6TargetBody } from '../ipv6/checks.js';
import { readHostIpv6 } from '../ipv6/host.js';
import { VERSION } from '../version.js';
import type { Probe } from './probe.js';

/** Name of the target that is always checked: the collector this agent reports to. */
export const COLLECTOR_TARGET = 'collector';

/**
 * The targets one run checks: the collector (its /healthz) first, then `ipv6.targets` from the
 * config, which can be set centrally. A configured target named "collector" replaces the automatic one.
 */
export function ipv6TargetsOf(config: AgentConfig): { name: string; url: string }[] {
  const configured = config.ipv6.targets.slice(0, IPV6_MAX_TARGETS);
  if (configured.some((t) => t.name === COLLECTOR_TARGET)) return configured;
  const base = config.collector.url.endsWith('/') ? config.collector.url : `${config.collector.url}/`;
  return [{ name: COLLECTOR_TARGET, url: new URL('healthz', base).toString() }, ...configured];
}

/** Run `fn` over `items` with at most `limit` at once, keeping the order of results. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * IPv6 readiness (DESIGN.md §3, docs/ipv6.md): the host's global IPv6 address and default route,
 * then for each target DNS A/AAAA, TCP over IPv4 only and IPv6 only, HTTP(S) over IPv6 only, the
 * family a dual-stack connect picks, and a 1 600-byte request over IPv6. Every failure is data:
 * the result is "ok" whatever the checks found, "partial" when the run was cut short.
 */
export const ipv6Probe: Probe<'ipv6'> = {
  kind: 'ipv6',
  title: 'IPv6 readiness',
  async run(ctx) {
    const { timeoutMs, slowMs, attemptDelayMs } = ctx.config.ipv6;
    const host = readHostIpv6();
    const targets = ipv6TargetsOf(ctx.config);
    ctx.log.debug({ host, targets: targets.map((t) => t.name) }, 'ipv6 checks start');
    let done = 0;
    const userAgent = `hatang-agent/${VERSION} (ipv6 check)`;
    const results = await mapLimit(targets, IPV6_TARGET_CONCURRENCY, async (t) => {
      ctx.onProgress?.({ phase: 'ipv6', fraction: done / targets.length, message: t.name });
      const r = await checkTarget(t, { timeoutMs, slowMs, attemptDelayMs, userAgent, signal: ctx.signal });
      done++;
      ctx.onProgress?.({ phase: 'ipv6', fraction: done / targets.length, message: t.name });
      return r;
    });
    const bodies: Ipv6TargetBody[] = results.map((r) => r.body);
    return {
      status: ctx.signal.aborted ? 'partial' : 'ok',
      body: { host: { globalAddress: host.globalAddress, defaultRoute: host.defaultRoute }, targets: bodies },
      family: 6,
      bytesUsed: results.reduce((s, r) => s + r.bytes, 0),
    };
  },
};
