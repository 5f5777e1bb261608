import type { AgentConfig, Result, ResultKind } from '@hatang/shared';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from './clock.js';
import { linkSpeedMbps } from './diag.js';
import type { Logger } from './log.js';
import type { Probe, ProbeOutcome, Progress } from './probes/probe.js';
import { VERSION } from './version.js';

export interface RunProbeOptions {
  config: AgentConfig;
  clock: Clock;
  log: Logger;
  signal?: AbortSignal;
  /** Overall time limit of the test, ms; past it the probe is aborted and the result recorded as partial/error. */
  timeoutMs?: number;
  onProgress?: (p: Progress) => void;
}

/** Servers to use: the configured list, or the collector itself. */
export function serversOf(config: AgentConfig) {
  return config.servers.length > 0 ? config.servers : [{ id: 'collector', url: config.collector.url }];
}

/** Run one probe and wrap its outcome into a wire Result (id, times, clock, network, version). */
export async function runProbe<K extends ResultKind>(probe: Probe<K>, o: RunProbeOptions): Promise<Result> {
  const id = uuidv7();
  const startedWall = o.clock.now();
  const stamp = o.clock.stamp();
  const t0 = performance.now();
  const ac = new AbortController();
  const onAbort = () => ac.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = o.timeoutMs
    ? setTimeout(() => ac.abort(new Error('test overran its time limit')), o.timeoutMs)
    : undefined;
  let outcome: ProbeOutcome<K>;
  try {
    outcome = await probe.run({
      config: o.config,
      signal: ac.signal,
      log: o.log.child({ probe: probe.kind, runId: id }),
      now: o.clock.now,
      servers: serversOf(o.config),
      token: o.config.collector.token,
      onProgress: o.onProgress,
    });
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
  if (ac.signal.aborted && outcome.status === 'ok') outcome = { ...outcome, status: 'partial' };
  const linkMbps = linkSpeedMbps(o.config.agent.iface);
  const result = {
    id,
    kind: probe.kind,
    startedAt: new Date(startedWall).toISOString(),
    clock: stamp,
    durationMs: Math.round(performance.now() - t0),
    status: outcome.status,
    ...(outcome.error ? { error: outcome.error } : {}),
    network: {
      access: o.config.agent.access,
      family: outcome.family,
      ...(o.config.agent.isp ? { isp: o.config.agent.isp } : {}),
      ...(o.config.agent.iface ? { iface: o.config.agent.iface } : {}),
      ...(linkMbps !== undefined ? { linkMbps } : {}),
    },
    ...(outcome.server ? { server: outcome.server } : {}),
    bytesUsed: outcome.bytesUsed,
    ...(outcome.agentLimited !== undefined ? { agentLimited: outcome.agentLimited } : {}),
    agentVersion: VERSION,
    ...(outcome.body ? { [probe.kind]: outcome.body } : {}),
  };
  return result as Result;
}

/**
 * A result for a test that produced none of its own: one the scheduler abandoned after it ignored
 * the abort of an overrun. Recorded like any other, so the province sees the gap and why.
 */
export function failedResult(
  kind: ResultKind,
  o: {
    config: AgentConfig;
    startedWall: number;
    stamp: import('@hatang/shared').ClockStamp;
    durationMs: number;
    error: { code: string; phase: string; message: string };
  },
): Result {
  return {
    id: uuidv7({ msecs: o.startedWall }),
    kind,
    startedAt: new Date(o.startedWall).toISOString(),
    clock: o.stamp,
    durationMs: Math.max(0, Math.round(o.durationMs)),
    status: 'error',
    error: o.error,
    network: {
      access: o.config.agent.access,
      family: o.config.speed.family === '6' ? 6 : 4,
      ...(o.config.agent.isp ? { isp: o.config.agent.isp } : {}),
      ...(o.config.agent.iface ? { iface: o.config.agent.iface } : {}),
    },
    bytesUsed: 0,
    agentVersion: VERSION,
  } as Result;
}
