import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

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

export interface CpuWatch {
  /** Share of one core this process used since start (Node runs the probe on one thread). */
  stop(): { processShare: number; load1PerCore: number };
}

export function watchCpu(): CpuWatch {
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop() {
      const u = process.cpuUsage(u0);
      const wallUs = (performance.now() - t0) * 1000;
      return {
        processShare: wallUs > 0 ? (u.user + u.system) / wallUs : 0,
        load1PerCore: (loadavg()[0] ?? 0) / Math.max(1, cpus().length),
      };
    },
  };
}

/** The result is agent-limited when our thread was near saturation or the rate is near the NIC's speed. */
export function isAgentLimited(cpu: { processShare: number }, bps: number, linkMbps: number | undefined): boolean {
  if (cpu.processShare >= 0.9) return true;
  return linkMbps !== undefined && bps >= 0.9 * linkMbps * 1e6;
}

export function cpuModel(): string {
  return cpus()[0]?.model ?? 'unknown';
}
