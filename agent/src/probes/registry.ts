import type { ResultKind } from '@hatang/shared';
import { ipv6Probe } from './ipv6.js';
import { latencyProbe } from './latency.js';
import { ndt7Probe } from './ndt7.js';
import type { Probe } from './probe.js';
import { speedProbe } from './speed.js';
import { udpProbe } from './udp.js';

/**
 * Every probe the agent knows, by kind: the one registry (blackbox's `Probers`). Adding a probe is
 * one file in probes/ and one line here; nothing else branches on kind.
 */
export const probes: Partial<{ [K in ResultKind]: Probe<K> }> = {
  speed: speedProbe,
  latency: latencyProbe,
  ndt7: ndt7Probe,
  ipv6: ipv6Probe,
  udp: udpProbe,
};

export function probeFor(kind: string): Probe | undefined {
  return (probes as Record<string, Probe | undefined>)[kind];
}
