import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AGENT_LIMITED_CPU_SHARE, AGENT_LIMITED_LINK_SHARE } from '@hatang/shared';

/** Self-diagnosis (DESIGN.md §3): was the agent, not the line, the limit? */

/** NIC link speed in Mbit/s from sysfs, or undefined where the OS does not tell (Wi-Fi, non-Linux). */
export function linkSpeedMbps(iface: string | undefined): number | undefined {
  if (!iface || !/^[A-Za-z0-9._-]+$/.test(iface)) return undefined;
  try {
    const v = Number(readFileSync(`/sys/class/net/${iface}/speed`, 'utf8').trim());
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuUse {
  /** Share of the wall time the agent's event loop was busy, 0–1 (Node's event-loop utilisation). */
  eventLoop: number;
  /** CPU time of this process over wall time (user + system), 0–n for n cores. */
  process: number;
  /** Busy share of all CPUs, 0–1. */
  system: number;
  /** 1-minute load average per core at the end. */
  load1PerCore: number;
}

export interface CpuWatch {
  stop(): CpuUse;
}

function systemTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

/** Start watching CPU use; `stop()` gives the figures over the watched span. */
export function watchCpu(): CpuWatch {
  const u0 = process.cpuUsage();
  const e0 = performance.eventLoopUtilization();
  const s0 = systemTimes();
  const t0 = performance.now();
  return {
    stop() {
      const u = process.cpuUsage(u0);
      const wallUs = (performance.now() - t0) * 1000;
      const s1 = systemTimes();
      const dt = s1.total - s0.total;
      return {
        eventLoop: performance.eventLoopUtilization(e0).utilization,
        process: wallUs > 0 ? (u.user + u.system) / wallUs : 0,
        system: dt > 0 ? (s1.busy - s0.busy) / dt : 0,
        load1PerCore: (loadavg()[0] ?? 0) / Math.max(1, cpus().length),
      };
    },
  };
}

/**
 * Why the result may be the agent's limit rather than the line's, or undefined: its event loop
 * (one thread does all the JS work of a test) was busy ≥ 90 % of the time, or the rate reached
 * ≥ 90 % of the NIC's link speed. System-wide CPU is recorded but does not flag on its own.
 */
export function agentLimitReason(
  cpu: Pick<CpuUse, 'eventLoop'>,
  bps: number,
  linkMbps: number | undefined,
): 'cpu' | 'nic' | undefined {
  if (cpu.eventLoop >= AGENT_LIMITED_CPU_SHARE) return 'cpu';
  if (linkMbps !== undefined && bps >= AGENT_LIMITED_LINK_SHARE * linkMbps * 1e6) return 'nic';
  return undefined;
}

export function cpuModel(): string {
  return cpus()[0]?.model ?? 'unknown';
}
