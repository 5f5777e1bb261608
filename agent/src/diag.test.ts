import { describe, expect, it } from 'vitest';
import { agentLimitReason, linkSpeedMbps, watchCpu } from './diag.js';

describe('agent-limited flag', () => {
  it.each([
    [{ eventLoop: 0.95 }, 10e6, undefined, 'cpu'],
    [{ eventLoop: 0.9 }, 10e6, 1000, 'cpu'],
    [{ eventLoop: 0.2 }, 95e6, 100, 'nic'],
    [{ eventLoop: 0.2 }, 90e6, 100, 'nic'],
    [{ eventLoop: 0.2 }, 89e6, 100, undefined],
    [{ eventLoop: 0.2 }, 900e6, undefined, undefined], // no link speed known: no NIC verdict
    [{ eventLoop: 0 }, 0, 0.0001, undefined],
  ])('event loop %o at %d bit/s, link %s Mbit/s → %s', (cpu, bps, link, want) => {
    expect(agentLimitReason(cpu, bps, link)).toBe(want);
  });
});

describe('diagnostics inputs', () => {
  it('link speed is undefined for no, unsafe or unknown interface names', () => {
    expect(linkSpeedMbps(undefined)).toBeUndefined();
    expect(linkSpeedMbps('../etc')).toBeUndefined();
    expect(linkSpeedMbps('no-such-nic0')).toBeUndefined();
  });
  it('CPU watch reports shares between 0 and 1 for the event loop and the system', () => {
    const w = watchCpu();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    const u = w.stop();
    expect(x).toBeGreaterThan(0);
    expect(u.eventLoop).toBeGreaterThanOrEqual(0);
    expect(u.eventLoop).toBeLessThanOrEqual(1);
    expect(u.system).toBeGreaterThanOrEqual(0);
    expect(u.system).toBeLessThanOrEqual(1);
    expect(u.process).toBeGreaterThan(0);
  });
});
